"""What the torture runs share: sizes, seeds, records, worker processes and the tables.

The tests under tests/integration/torture run each scenario at a size that fits CI; the same
code, through bench/torture.py, runs them at full size and publishes the figures in
bench/RELIABILITY.md.

* Sizes: `size(ci, full)` gives the CI size, or with `BRIDGE_TORTURE_SCALE=full` the full one
  (a number instead multiplies the CI size).
* Randomness: every random choice (kill points, row order, which worker dies) comes from
  `seeded(name)`, which prints its seed; `BRIDGE_TORTURE_SEED=N` replays a run.
* Records: workers run `tests.support.torture_app:app`, whose handler writes `S`/`D`/`F`
  lines (fsync'd) to a file; `read_record` turns them into `Run`s.
* Waiting: `wait_for` polls a condition that only holds after the awaited event, with a
  generous bound that fails the run instead of hanging it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bridge.dispatcher import Dispatched, Dispatcher
from bridge.laravel.classes import JobClass, Prop
from bridge.laravel.encryption import Encrypter
from bridge.queue.database import create_engine_for
from bridge.queue.database_stores import DatabaseStores
from bridge.queue.schema import migrate
from tests.support.laravel import DEFAULT_APP_KEY
from tests.support.torture_app import RECORD_CLASS, RECORD_ENV, SECRET_CLASS

ROOT = Path(__file__).resolve().parents[2]
SCALE_ENV = "BRIDGE_TORTURE_SCALE"
SEED_ENV = "BRIDGE_TORTURE_SEED"
APP_KEY = DEFAULT_APP_KEY

#: The torture app's job classes, declared for bridge's payload builder.
RECORD = JobClass(
    name=RECORD_CLASS,
    properties=(Prop("n", type="int", default=0), Prop("fail", type="bool", default=False)),
)
SECRET = JobClass(
    name=SECRET_CLASS,
    properties=RECORD.properties,
    interfaces=("ShouldQueue", "ShouldBeEncrypted"),
)


# --- sizes and seeds --------------------------------------------------------------------


def full_size() -> bool:
    """Whether this run is the full-size one (`BRIDGE_TORTURE_SCALE=full`)."""
    return os.environ.get(SCALE_ENV, "").strip().lower() == "full"


def size(ci: int, full: int) -> int:
    """The CI size, the full size, or the CI size times `BRIDGE_TORTURE_SCALE`."""
    raw = os.environ.get(SCALE_ENV, "").strip().lower()
    if raw == "full":
        return full
    return max(1, round(ci * float(raw))) if raw else ci


def seeded(name: str) -> tuple[random.Random, int]:
    """A random generator for one scenario, and its seed (printed, to replay a failure)."""
    raw = os.environ.get(SEED_ENV)
    seed = int(raw) if raw else random.SystemRandom().randrange(2**32)
    print(f"\n{name}: seed {seed} (replay with {SEED_ENV}={seed})", flush=True)
    return random.Random(seed), seed


# --- waiting ----------------------------------------------------------------------------


class TortureTimeout(AssertionError):
    """A condition a run waited for did not come within its bound."""


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll `condition` until it is true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TortureTimeout(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.05)


# --- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One line of the record: `S` (started), `D` (done) or `F` (raised on purpose)."""

    event: str
    uuid: str
    pid: int
    attempts: int


def read_record(path: Path) -> list[Run]:
    """The record's lines (a torn line from a kill mid-write would be skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in {"S", "D", "F"}:
            out.append(Run(parts[0], parts[1], int(parts[2]), int(parts[3])))
    return out


def count_events(path: Path, event: str) -> int:
    """How many lines of one kind the record holds (cheap enough to poll)."""
    if not path.exists():
        return 0
    marker = f"{event} ".encode()
    return sum(1 for line in path.read_bytes().splitlines() if line.startswith(marker))


def events_by_uuid(runs: Iterable[Run], event: str) -> Counter[str]:
    """How many `event` lines each uuid has."""
    return Counter(run.uuid for run in runs if run.event == event)


# --- the tables -------------------------------------------------------------------------


def dialect(url: str) -> str:
    """`sqlite`, `mysql` or `postgresql`."""
    name = make_url(url).get_backend_name()
    return "mysql" if name == "mariadb" else name


def fresh_tables(url: str) -> None:
    """Drop and create `jobs`, `failed_jobs` and `job_batches` (bridge's migrate)."""
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            for table in ("jobs", "failed_jobs", "job_batches"):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        migrate(engine)
    finally:
        engine.dispose()


def count_rows(engine: sa.Engine, table: str, where: str = "") -> int:
    """`SELECT COUNT(*)` of a table."""
    with engine.connect() as conn:
        sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return int(conn.execute(sa.text(sql)).scalar_one())


def queue_jobs(
    url: str,
    count: int,
    *,
    fail: Callable[[int], bool] = lambda n: False,
    encrypted: Callable[[int], bool] = lambda n: False,
    chunk: int = 1000,
) -> list[Dispatched]:
    """Queue `count` torture jobs (`n` = 0..count-1) with bridge's dispatcher, in bulk."""
    stores = DatabaseStores.open(url)
    try:
        dispatcher = Dispatcher(stores=stores, profile="8", encrypter=Encrypter(APP_KEY))
        out: list[Dispatched] = []
        for start in range(0, count, chunk):
            jobs = [
                (SECRET if encrypted(n) else RECORD).new(n=n, fail=fail(n))
                for n in range(start, min(start + chunk, count))
            ]
            out += dispatcher.bulk(jobs)
        return out
    finally:
        stores.close()


# --- worker processes -------------------------------------------------------------------


def bridge_command() -> str:
    """The `bridge` script installed next to this interpreter."""
    found = shutil.which("bridge", path=str(Path(sys.executable).parent))
    assert found is not None, "the bridge command is not installed in this environment"
    return found


def write_env_file(folder: Path, *, retry_after: int) -> Path:
    """A Laravel `.env` giving `bridge` the key and the `retry_after` of a run."""
    path = folder / "torture.env"
    path.write_text(f"APP_KEY={APP_KEY}\nDB_QUEUE_RETRY_AFTER={retry_after}\n", "utf-8")
    return path


def start_bridge(
    url: str,
    *args: str,
    record: Path,
    log: Path,
    env_file: Path,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`bridge work --app tests.support.torture_app:app --unknown fail ARGS` on `url`, output
    to `log`. No PHP worker shares these queues, so a class no handler knows is a bad row to
    fail intact, not a PHP job to hand back (`bridge work`'s default). The poison rows hold
    a 10 MB payload whose decoding peaks near the default 128 MB `--memory` (more on a
    loaded PostgreSQL run), where a worker exits 12 for its supervisor: give them room."""
    argv = [bridge_command(), "--database", url, "--env-file", str(env_file), "work"]
    argv += ["--app", "tests.support.torture_app:app", "--unknown", "fail", "--memory", "512"]
    argv += args
    environ = {**os.environ, RECORD_ENV: str(record), **(extra_env or {})}
    with open(log, "ab") as sink:
        return subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=sink, stderr=sink)


def run_bridge(
    url: str, *args: str, env_file: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a `bridge` command to completion (output captured)."""
    argv = [bridge_command(), "--database", url, "--env-file", str(env_file), *args]
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def stop(process: subprocess.Popen[bytes], seconds: float = 60) -> int:
    """SIGTERM a worker and return its exit status (SIGKILL if it does not stop in time)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -signal.SIGKILL


def file_size(path: Path) -> int:
    """A file's size (0 when it does not exist yet)."""
    return path.stat().st_size if path.exists() else 0


def clean_exit(code: int, *, logged: bool) -> bool:
    """Whether a worker stopped by SIGTERM stopped cleanly: exit 0, or killed by the signal
    before it logged anything (still starting: its handlers were not installed yet, and it
    held no job)."""
    return code == 0 or (code == -signal.SIGTERM and not logged)


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaped counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident size so far (VmHWM), in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def log_tail(paths: Sequence[Path], chars: int = 3000) -> str:
    """The end of each log, for failure messages."""
    return "\n".join(
        f"--- {p.name}:\n{p.read_text(errors='replace')[-chars:]}" for p in paths if p.exists()
    )


def machine() -> str:
    """The machine a run was on: CPU model (lscpu) and CPUs (nproc)."""
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs (nproc)"

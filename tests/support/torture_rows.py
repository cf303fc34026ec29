"""Bad rows among good ones: poison rows and hostile payloads, written straight into `jobs`.

Each bad row is a payload (bytes, as the column will hold them) and an `attempts` value, with
the outcome it must have: failed into `failed_jobs` byte for byte with a reason whose class is
one of `reasons`, or (`may_run`) either that or run exactly once. `run_bad_rows` queues them
in a seeded random order among good jobs, lets two `bridge work` daemons (prefetch 1 and 32)
drain the queue, and returns what became of every row; `BadRowsResult.problems()` lists every
broken promise (a good job not run exactly once, a bad row not failed intact, a reason that is
no clear error, a worker that died, a row left behind, code that ran, memory that blew up).
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bridge import exceptions
from bridge.laravel.classes import JobClass
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import build_payload
from bridge.laravel.versions import profile_for
from bridge.queue.database import create_engine_for
from tests.support.torture import (
    APP_KEY,
    RECORD,
    SECRET,
    clean_exit,
    count_rows,
    dialect,
    events_by_uuid,
    file_size,
    fresh_tables,
    log_tail,
    peak_rss_mib,
    read_record,
    start_bridge,
    stop,
    wait_for,
    write_env_file,
)

#: What a failure's first line may name, by kind of damage.
DECODE = (exceptions.PayloadError, exceptions.PhpSerializeError)
NO_HANDLER = (exceptions.HandlerNotFound,)
TOO_MANY = (exceptions.MaxAttemptsExceeded,)
#: Laravel's class names the worker writes for its own reasons.
_LARAVEL_NAMES = {
    "Illuminate\\Queue\\MaxAttemptsExceededException": exceptions.MaxAttemptsExceeded,
    "Illuminate\\Queue\\TimeoutExceededException": exceptions.TimeoutExceeded,
    "Illuminate\\Queue\\ManuallyFailedException": exceptions.ManuallyFailed,
}
#: The longest first line of a failure reason that still reads as a clear message.
MAX_REASON_CHARS = 2000
#: A worker's peak resident size above this is a memory blow-up.
MAX_WORKER_RSS_MIB = 400.0
#: Ten megabytes.
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class BadRow:
    """One malformed or hostile row and the outcome it must have."""

    kind: str
    payload: bytes
    reasons: tuple[type[BaseException], ...] = DECODE
    attempts: int = 0
    #: Values at the edge (huge numbers, lone surrogates...) may also run, exactly once.
    may_run: bool = False
    #: A row whose damage shows only after its handler (the next job of its chain) may run
    #: once before it is failed.
    fails_after_run: bool = False
    uuid: str | None = None


def _good(n: int, *, job_class: JobClass = RECORD, uuid: str) -> dict[str, object]:
    text = build_payload(
        job_class.new(n=n),
        profile=profile_for("8"),
        uuid=uuid,
        now=int(time.time()),
        encrypter=Encrypter(APP_KEY),
    )
    loaded: dict[str, object] = json.loads(text)
    return loaded


def _text(payload: Mapping[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _with_command(payload: dict[str, object], command: str) -> bytes:
    data = dict(payload["data"])  # type: ignore[call-overload]
    data["command"] = command
    return _text({**payload, "data": data})


def _object(class_name: str, body: str, count: int) -> str:
    return f'O:{len(class_name.encode())}:"{class_name}":{count}:{{{body}}}'


def _tamper_envelope(command: str, part: str) -> str:
    """The encrypted command with one byte of its iv, value or mac changed."""
    envelope = json.loads(base64.b64decode(command))
    raw = envelope[part]
    if part == "mac":
        envelope[part] = ("0" if raw[0] != "0" else "1") + raw[1:]
    else:
        decoded = bytearray(base64.b64decode(raw))
        decoded[len(decoded) // 2] ^= 0x01
        envelope[part] = base64.b64encode(bytes(decoded)).decode()
    return base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()


def poison_catalogue(uuid: Callable[[], str], *, sqlite: bool) -> list[BadRow]:
    """One of each kind of malformed row (invalid UTF-8 only where the column can hold it:
    SQLite; MariaDB and PostgreSQL refuse such text at the INSERT)."""

    def good(job_class: JobClass = RECORD) -> tuple[str, dict[str, object]]:
        key = uuid()
        return key, _good(1, job_class=job_class, uuid=key)

    rows: list[BadRow] = [
        BadRow("not JSON", b'{"uuid": "broken", "data": {"command": '),
        BadRow("JSON but not an object", b"[1, 2, 3]"),
    ]
    key, p = good()
    rows.append(BadRow("no data", _text({k: v for k, v in p.items() if k != "data"}), uuid=key))
    key, p = good()
    rows.append(BadRow("data not an object", _text({**p, "data": "O:8:"}), uuid=key))
    key, p = good()
    command = str(p["data"]["command"])  # type: ignore[index]
    rows.append(
        BadRow("truncated command", _with_command(p, command[: len(command) // 2]), uuid=key)
    )
    key, p = good()
    rows.append(
        BadRow("wrong length", _with_command(p, command.replace('s:1:"n"', 's:4:"n"')), uuid=key)
    )
    key, p = good()
    rows.append(
        BadRow("object count off", _with_command(p, command.replace(":12:{", ":13:{", 1)), uuid=key)
    )
    unknown = JobClass(name="Torture\\Jobs\\Unknown", properties=RECORD.properties)
    key = uuid()
    rows.append(
        BadRow("unknown class", _text(_good(1, job_class=unknown, uuid=key)), NO_HANDLER, uuid=key)
    )
    key, p = good(SECRET)
    secret = str(p["data"]["command"])  # type: ignore[index]
    rows.append(BadRow("bad MAC", _with_command(p, _tamper_envelope(secret, "mac")), uuid=key))
    key, p = good(SECRET)
    rows.append(BadRow("not base64", _with_command(p, "%%%" + secret[3:]), uuid=key))
    key, p = good()
    big = "x" * (TEN_MB - 1)
    rows.append(
        BadRow(
            "10 MB payload",
            _with_command(p, _object(RECORD.name, f's:1:"n";s:{TEN_MB}:"{big}";', 1)),
            uuid=key,
        )
    )
    key, p = good()
    rows.append(BadRow("attempts at 255", _text(p), TOO_MANY, attempts=255, uuid=key))
    key, p = good()
    rows.append(
        BadRow(
            "nested JSON 1,000 deep",
            _text({**p, "extra": "@@"}).replace(b'"@@"', b"[" * 1000 + b"]" * 1000),
            may_run=True,
            uuid=key,
        )
    )
    key, p = good()
    rows.append(
        BadRow(
            "chained[0] not a string",
            _with_command(
                p, command.replace('s:7:"chained";a:0:{}', 's:7:"chained";a:1:{i:0;i:5;}')
            ),
            (*DECODE, exceptions.WorkerError),
            fails_after_run=True,
            uuid=key,
        )
    )
    for field_name, literal in (
        ("maxTries", "1e400"),
        ("maxExceptions", "1e400"),
        ("timeout", "1e400"),
        ("retryUntil", "1e400"),
        ("timeout", "1e300"),
        ("backoff", '"' + "9" * 5000 + '"'),
    ):
        key, p = good()
        text = _text({**p, field_name: "@@"}).replace(b'"@@"', literal.encode())
        rows.append(
            BadRow(
                f"{field_name} {literal[:8]}", text, (*DECODE, *TOO_MANY), may_run=True, uuid=key
            )
        )
    key, p = good()
    rows.append(
        BadRow(
            "lone surrogate in command",
            _text(p).replace(b's:1:\\"n\\"', b's:1:\\"\\ud800\\"'),
            may_run=True,
            uuid=key,
        )
    )
    key, p = good()
    rows.append(BadRow("UTF-8 BOM", b"\xef\xbb\xbf" + _text(p), may_run=True, uuid=key))
    if sqlite:
        rows.append(BadRow("UTF-16 with a BOM", '{"uuid":"x","data":{}}'.encode("utf-16")))
        key, p = good()
        rows.append(
            BadRow("invalid UTF-8", _text(p).replace(b"Torture", b"Tor\xff\xfeture", 1), uuid=key)
        )
    return rows


def hostile_catalogue(uuid: Callable[[], str], *, canary: Path) -> list[BadRow]:
    """Payloads written to attack: Python-looking class names, huge counts, deep nesting,
    tampered encryption. Were a class name ever run as Python, `canary` would appear."""
    rows: list[BadRow] = []
    touch = f"touch {canary}"
    canary_job = "tests.support.torture_canary.Boom"
    for name in ("os.system", "builtins.exec", "subprocess.Popen", canary_job, "__import__"):
        key = uuid()
        shell = _object(name, f's:7:"command";s:{len(touch.encode())}:"{touch}";', 1)
        payload = {
            "uuid": key,
            "displayName": name,
            "job": "Illuminate\\Queue\\CallQueuedHandler@call",
            "maxTries": None,
            "data": {"commandName": name, "command": shell},
        }
        rows.append(BadRow(f"class {name}", _text(payload), NO_HANDLER + DECODE, uuid=key))
        key = uuid()
        string_job = {"uuid": key, "displayName": name, "job": f"{name}@system", "data": [touch]}
        rows.append(
            BadRow(f"string job {name}@system", _text(string_job), NO_HANDLER + DECODE, uuid=key)
        )

    def good() -> tuple[str, dict[str, object]]:
        key = uuid()
        return key, _good(1, uuid=key)

    key, p = good()
    rows.append(
        BadRow(
            "a:999999999:{",
            _with_command(p, _object(RECORD.name, 's:1:"n";a:999999999:{', 1)),
            uuid=key,
        )
    )
    key, p = good()
    rows.append(
        BadRow(
            "s:999999999999",
            _with_command(p, _object(RECORD.name, 's:1:"n";s:999999999999:"abc";', 1)),
            uuid=key,
        )
    )
    key, p = good()
    deep = "a:1:{i:0;" * 100_000 + "N;" + "}" * 100_000
    rows.append(
        BadRow(
            "100k-deep PHP nesting",
            _with_command(p, _object(RECORD.name, f's:1:"n";{deep}', 1)),
            uuid=key,
        )
    )
    key, p = good()
    rows.append(
        BadRow(
            "100k-deep JSON nesting",
            _text({**p, "extra": "@@"}).replace(b'"@@"', b"[" * 100_000 + b"]" * 100_000),
            uuid=key,
        )
    )
    key, p = good()
    rows.append(
        BadRow(
            "100k-deep JSON in the envelope",
            _with_command(
                p, base64.b64encode(b'{"iv":' + b"[" * 100_000 + b"]" * 100_000 + b"}").decode()
            ),
            uuid=key,
        )
    )
    for part in ("iv", "value", "mac"):
        secret_key = uuid()
        secret = _good(1, job_class=SECRET, uuid=secret_key)
        command = str(secret["data"]["command"])  # type: ignore[index]
        rows.append(
            BadRow(
                f"tampered {part}",
                _with_command(secret, _tamper_envelope(command, part)),
                uuid=secret_key,
            )
        )
    return rows


def good_payloads(count: int, uuid: Callable[[], str]) -> list[tuple[str, bytes]]:
    """`count` good jobs (every fourth one encrypted): (uuid, payload)."""
    out = []
    for n in range(count):
        key = uuid()
        out.append((key, _text(_good(n, job_class=SECRET if n % 4 == 0 else RECORD, uuid=key))))
    return out


def reason_head(exception_text: str) -> str:
    """The line that states the failure: PHP's string form lists a chain of exceptions from
    the innermost cause to the one raised last, each after a `Next ` (the last one counts)."""
    lines = exception_text.split("\n")
    heads = [lines[0]] + [line[len("Next ") :] for line in lines if line.startswith("Next ")]
    return heads[-1]


def reason_class(exception_text: str) -> type[BaseException] | None:
    """The error class a `failed_jobs.exception` text names last, if bridge knows it."""
    name = reason_head(exception_text).split(":", 1)[0].strip()
    if name in _LARAVEL_NAMES:
        return _LARAVEL_NAMES[name]
    module, _, short = name.rpartition(".")
    if module == "bridge.exceptions":
        found = getattr(exceptions, short, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    return None


@dataclass
class BadRowsResult:
    """What became of every row of one run."""

    database: str
    good: int
    bad: list[BadRow]
    seconds: float = 0.0
    runs: dict[str, int] = field(default_factory=dict)
    good_once: int = 0
    #: edge-value rows that ran (once) instead of failing
    bad_ran_once: int = 0
    #: (payload, exception) of every failed_jobs row.
    failed: list[tuple[bytes, str]] = field(default_factory=list)
    left_in_jobs: int = 0
    exits: list[int] = field(default_factory=list)
    alive_at_end: list[bool] = field(default_factory=list)
    peak_rss_mib: list[float] = field(default_factory=list)
    canary: str = ""
    problems_found: list[str] = field(default_factory=list)
    #: kind -> first line of its failure reason (for the published table).
    reasons: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Every broken promise, one line each (empty: the run held)."""
        return self.problems_found


def _insert(url: str, rows: list[tuple[bytes, int]]) -> None:
    """Insert raw rows into `jobs` in this order (payload bytes kept as they are)."""
    engine = create_engine_for(url)
    sqlite = dialect(url) == "sqlite"
    # SQLite keeps text bytes as given (invalid UTF-8 too) when a blob is cast to text.
    value = "CAST(:payload AS TEXT)" if sqlite else ":payload"
    statement = sa.text(
        "INSERT INTO jobs (queue, payload, attempts, reserved_at, available_at, created_at) "
        f"VALUES ('default', {value}, :attempts, NULL, :now, :now)"
    )
    now = int(time.time())
    try:
        for start in range(0, len(rows), 200):
            chunk = rows[start : start + 200]
            with engine.begin() as conn:
                conn.execute(
                    statement,
                    [
                        {
                            "payload": payload if sqlite else payload.decode("utf-8"),
                            "attempts": attempts,
                            "now": now,
                        }
                        for payload, attempts in chunk
                    ],
                )
    finally:
        engine.dispose()


def _failed_rows(url: str) -> list[tuple[bytes, str]]:
    engine = create_engine_for(url)
    column = "CAST(payload AS BLOB)" if dialect(url) == "sqlite" else "payload"
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text(f"SELECT {column}, exception FROM failed_jobs"))
            return [
                (p if isinstance(p, bytes) else str(p).encode("utf-8"), str(e)) for p, e in result
            ]
    finally:
        engine.dispose()


def run_bad_rows(
    url: str,
    workdir: Path,
    *,
    good: int,
    bad: list[BadRow],
    rng: random.Random,
    good_rows: list[tuple[str, bytes]],
) -> BadRowsResult:
    """Queue `good_rows` and `bad` in a random order, drain with two daemons, check it all."""
    fresh_tables(url)
    result = BadRowsResult(database=dialect(url), good=good, bad=bad)
    problems = result.problems_found
    order: list[tuple[bytes, int]] = [(p, 0) for _, p in good_rows] + [
        (row.payload, row.attempts) for row in bad
    ]
    rng.shuffle(order)
    _insert(url, order)
    record, canary = workdir / "record.txt", workdir / "canary.txt"
    env_file = write_env_file(workdir, retry_after=90)
    logs = [workdir / "worker-prefetch1.log", workdir / "worker-prefetch32.log"]
    extra = {"BRIDGE_TORTURE_CANARY": str(canary)}
    started = time.monotonic()
    workers = [
        start_bridge(
            url,
            "--sleep",
            "0.1",
            "--tries",
            "3",
            record=record,
            log=logs[0],
            env_file=env_file,
            extra_env=extra,
        ),
        start_bridge(
            url,
            "--sleep",
            "0.1",
            "--tries",
            "3",
            "--prefetch",
            "32",
            record=record,
            log=logs[1],
            env_file=env_file,
            extra_env=extra,
        ),
    ]
    engine = create_engine_for(url)
    total = len(order)
    try:

        def settled() -> bool:
            if any(w.poll() is not None for w in workers):
                return True  # a worker died: stop waiting, the checks below report it
            if count_rows(engine, "jobs") != 0:
                return False
            done = len(events_by_uuid(read_record(record), "D"))
            return count_rows(engine, "failed_jobs") + done >= total

        wait_for(settled, 120 + total / 10, f"{total} rows to be run or failed")
        result.seconds = time.monotonic() - started
        result.alive_at_end = [w.poll() is None for w in workers]
        result.peak_rss_mib = [peak_rss_mib(w.pid) for w in workers]
        result.left_in_jobs = count_rows(engine, "jobs")
    except AssertionError as exc:
        problems.append(f"{exc}\n{log_tail(logs)}")
    finally:
        logged = [file_size(log) > 0 for log in logs]
        result.exits = [stop(w) for w in workers]
        engine.dispose()
    if not all(result.alive_at_end):
        problems.append(f"a worker died: exits {result.exits}\n{log_tail(logs)}")
    elif not all(
        clean_exit(code, logged=grew) for code, grew in zip(result.exits, logged, strict=True)
    ):
        problems.append(f"workers did not stop cleanly: {result.exits}\n{log_tail(logs)}")
    if result.left_in_jobs:
        problems.append(f"{result.left_in_jobs} rows left in jobs")
    for mib in result.peak_rss_mib:
        if mib > MAX_WORKER_RSS_MIB:
            problems.append(f"a worker peaked at {mib:.0f} MiB (bound {MAX_WORKER_RSS_MIB:.0f})")
    if canary.exists():
        result.canary = canary.read_text()
        problems.append(f"code named by a payload ran: {result.canary}")

    runs = read_record(record)
    started_runs = events_by_uuid(runs, "S")
    result.runs = dict(started_runs)
    result.failed = _failed_rows(url)
    failed_by_payload: dict[bytes, list[str]] = {}
    for payload, exception in result.failed:
        failed_by_payload.setdefault(payload, []).append(exception)

    result.good_once = sum(1 for key, _ in good_rows if started_runs[key] == 1)
    result.bad_ran_once = sum(
        1 for row in bad if row.may_run and row.uuid and started_runs[row.uuid] == 1
    )
    for key, _ in good_rows:
        if started_runs[key] != 1:
            problems.append(f"good job {key} ran {started_runs[key]} times")
    for row in bad:
        matches = failed_by_payload.get(row.payload, [])
        ran = started_runs[row.uuid] if row.uuid else 0
        if matches:
            exception = matches.pop()
            first = reason_head(exception)
            result.reasons.setdefault(row.kind, first[:160])
            cls = reason_class(exception)
            if ran > (1 if row.fails_after_run else 0):
                problems.append(f"{row.kind}: ran {ran} times and was failed")
            if cls is None or not issubclass(cls, row.reasons):
                problems.append(f"{row.kind}: unclear reason {first[:300]!r}")
            elif len(first) > MAX_REASON_CHARS or not first.partition(":")[2].strip():
                problems.append(f"{row.kind}: reason of {len(first)} chars: {first[:300]!r}")
        elif row.may_run and ran == 1:
            result.reasons.setdefault(row.kind, "(ran once)")
        else:
            same_uuid = [e[:200] for p, e in result.failed if row.uuid and row.uuid.encode() in p]
            problems.append(
                f"{row.kind}: not in failed_jobs byte for byte (ran {ran} times); "
                f"failed rows with its uuid: {same_uuid}"
            )
    strays = [p[:100] for p, left in failed_by_payload.items() for _ in left]
    if strays:
        problems.append(f"{len(strays)} failed rows match no bad row: {strays[:3]}")
    return result

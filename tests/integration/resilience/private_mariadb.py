"""A throwaway MariaDB server of the test's own, to kill and restart at will.

The shared server on 3306 serves every other test; it is never touched. This one lives in a
temporary directory (datadir, socket, pid file, log) on a free port, accepts root without a
password (`--skip-grant-tables`), and is killed and deleted when the test ends.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "mariadb-install-db"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateMariaDB:
    """One private `mariadbd`: `start`, `kill` (SIGKILL, as a crash), `stop`, `remove`."""

    def __init__(self) -> None:
        """Create the data directory (nothing runs until `start`)."""
        # Short path: the socket name must fit in 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="bridge-mdb-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                f"--datadir={self.datadir}",
                "--user=root",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its `test` database."""
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/test?charset=utf8mb4"

    def start(self, *, timeout: float = 60.0) -> None:
        """Start the server on the same datadir and port; return once it answers."""
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    MARIADBD,
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={self.root / 'sock'}",
                    f"--pid-file={self.root / 'pid'}",
                    "--user=root",
                    "--skip-grant-tables",
                    "--innodb-buffer-pool-size=64M",
                ],
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root").close()
                break
            except pymysql.err.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"private mariadbd did not come up: {self.log_tail()}"
                    ) from None
                time.sleep(0.1)
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root")
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE DATABASE IF NOT EXISTS test "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
        finally:
            connection.close()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would end it, and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def log_tail(self) -> str:
        """The end of the server's log, for failure messages."""
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def remove(self) -> None:
        """Kill the server if it runs and delete every file it had."""
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

"""The two halves of every live restart-signal test, whatever the cache store: Laravel's
`queue:restart` stops `bridge work`, and `bridge restart` stops Laravel's `queue:work`."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from tests.support.laravel import ROOT, LaravelEnv

QUEUE = "restart"


def queue_restart_stops_bridge_work(
    env: LaravelEnv, bridge: Sequence[str], environ: Mapping[str, str]
) -> None:
    """Start `bridge work` (`bridge`: the command and its global options), run Laravel's
    `queue:restart`, and check the worker stops for it."""
    with subprocess.Popen(
        [
            *bridge,
            *("work", "--app", "tests.support.handlers:app", "--queue", QUEUE, "--sleep", "0.2"),
            # Only bounds a broken run (no start line): the wait below gives up first.
            *("--max-time", "300"),
        ],
        cwd=ROOT,
        env={**environ, "FIXTURE_DATABASE_URL": env.database_url},
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        try:
            assert worker.stderr is not None
            start = worker.stderr.readline()
            assert "starting" in start, start

            env.php("restart.php")

            assert worker.wait(timeout=120) == 0
            rest = worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
    assert "Restart signal received" in rest, rest


def bridge_restart_stops_queue_work(
    env: LaravelEnv,
    bridge: Sequence[str],
    environ: Mapping[str, str],
    *,
    connection: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Start Laravel's `queue:work`, run `bridge restart`, check the worker stops for it,
    and return what `bridge restart` printed."""
    # max_time only bounds a broken run: the wait below gives up long before it.
    with env.start_worker(connection=connection, queue=QUEUE, max_time=300) as worker:
        try:
            # A job processed means the daemon has read the signal it compares against.
            env.dispatch("plain_public", queue=QUEUE)
            assert worker.stdout is not None
            for line in worker.stdout:
                if "Processed" in line:
                    break
            sent = subprocess.run(
                [*bridge, "restart"],
                cwd=ROOT,
                env=dict(environ),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert sent.returncode == 0, sent.stderr
            assert worker.wait(timeout=120) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
    return sent

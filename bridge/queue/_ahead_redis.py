"""A reservation that goes on while the worker runs jobs: the Redis queue's RESERVE script.

A RESERVE of 64 jobs keeps the Redis server busy about 22 us per job (cjson decoding and
encoding each payload, the ZADDs: measured on a 2-CPU machine), during which a worker
calling it and waiting for its reply does nothing. Sent as the worker takes a batch
(`_ahead`), its reply is read when the worker needs the next batch, so the server runs the
script while the jobs run. Nothing runs on another thread, for the reason `_ahead_mysql`
gives.

The script goes on a connection taken from the client's pool and kept by the reservation
until its reply is read: given back when the reply came, dropped after any error (a reply
half read, or one still coming, would be read by the next command on it). The calls are
redis-py's public ones on a `Connection`: `send_command`, `read_response`.

The script is sent by its SHA (EVALSHA), as `Script` does. A server that does not have it
cached (restarted, or `SCRIPT FLUSH`) answers NOSCRIPT without running anything; the
reservation then sends the script's text (EVAL, which caches it again) on the same
connection and reads that reply in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis.exceptions

from bridge.exceptions import QueueError
from bridge.queue._ahead import UnderWay
from bridge.queue.base import ReservedJob

__all__ = ["RedisReservation"]


class RedisReservation(UnderWay):
    """One RESERVE script call whose reply is read later, on a connection only it uses.

    `poll` (the base's) does nothing: the server runs the script whether or not its reply
    is read, and the reply waits in the socket until `wait`; looking for it between jobs
    would cost a system call per job and gain nothing.
    """

    def __init__(
        self,
        connection: Any,
        *,
        script: Any,
        keys: Sequence[str],
        args: Sequence[Any],
        now: int,
        jobs: Callable[[Any], list[ReservedJob]],
        translate: Callable[[Exception], QueueError],
        on_end: Callable[[bool], None],
    ) -> None:
        """Send `script` (a redis-py `Script`: its `sha` and `script` text) with `keys` and
        `args` on `connection`; `jobs` turns the reply into rows, `translate` a redis-py
        error into bridge's.

        Raises:
            QueueError: the command could not be sent (`on_end` was told already).
        """
        super().__init__(now=now, on_end=on_end)
        self._connection = connection
        self._script, self._jobs, self._translate = script, jobs, translate
        self._command = (len(keys), *keys, *args)
        self._resent = False
        try:
            connection.send_command("EVALSHA", script.sha, *self._command)
        except Exception as exc:
            error = translate(exc)
            self._fail(error)
            raise error from exc

    def _step(self) -> None:
        try:
            reply = self._connection.read_response()
        except redis.exceptions.NoScriptError as exc:
            if self._resent:
                self._fail(self._translate(exc))
                return
            # Nothing ran: the same call again, with the script's text.
            self._resent = True
            try:
                self._connection.send_command("EVAL", self._script.script, *self._command)
            except Exception as error:
                self._fail(self._translate(error))
            return
        except Exception as exc:
            self._fail(self._translate(exc))
            return
        try:
            rows = self._jobs(reply)
        except Exception as exc:
            self._fail(self._translate(exc))
            return
        self._succeed(rows)

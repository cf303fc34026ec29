"""The handler bench_so.py's bridge workers run: `SoFixture\\Noop`, doing nothing."""

from __future__ import annotations

from bridge.worker import App

app = App()
app.register("SoFixture\\Noop", lambda job: None)

"""The worker: run loop, handler registry, timeouts and signals, over the storage protocols."""

from __future__ import annotations

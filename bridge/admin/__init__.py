"""Failed-job operations: select, show, retry into the queue, forget, flush, export, import."""

from __future__ import annotations

"""Settings: where the queue lives and how workers behave, from a mapping such as a `.env`."""

from __future__ import annotations

"""Laravel's side of the wire: payload JSON per version, PHP job classes, Laravel's values."""

from __future__ import annotations

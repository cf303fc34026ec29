"""bridge: Python and PHP sharing one Laravel job queue.

The layers, each importing only those below it: `bridge.php` (the PHP serialize() codec),
`bridge.laravel` (payloads, job classes, Laravel's values), `bridge.retry` (pure retry
policy), `bridge.queue` (storage), `bridge.worker` (the run loop) and `bridge.cli`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

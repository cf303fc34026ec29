"""The queue restart signal in Laravel's file cache store (`CACHE_DRIVER=file`, the
skeleton's default up to Laravel 10).

Laravel's `FileStore` keeps each value in a file of its own under the store's folder
(`storage/framework/cache/data`): the file is named by the SHA-1 of the key, in two levels of
folders named by its first two pairs of hex digits, and holds the expiry time as ten digits
(`9999999999`, "forever") followed by the PHP-serialized value. The store adds no prefix. So
after `php artisan queue:restart` the file `.../data/2f/7b/2f7b...` holds
`9999999999i:1733580000;`. Only a worker on the app's own host (or sharing its storage) can
see it, as only PHP workers there do.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from bridge.exceptions import QueueError
from bridge.queue.restart_signal import RESTART_KEY

__all__ = ["read_file_restart_signal", "restart_file", "write_file_restart_signal"]

#: `FileStore::forever`: an expiry no clock reaches.
_FOREVER = "9999999999"
_CONTENT = re.compile(r"(\d{10})i:(-?\d+);")


def restart_file(directory: Path) -> Path:
    """Where `FileStore` keeps the restart signal under `directory`."""
    digest = hashlib.sha1(RESTART_KEY.encode(), usedforsecurity=False).hexdigest()
    return directory / digest[:2] / digest[2:4] / digest


def read_file_restart_signal(directory: Path, *, now: int) -> int | None:
    """The signal, or None when there is none (or it expired, or holds no integer).

    Raises:
        QueueError: the file exists but cannot be read.
    """
    path = restart_file(directory)
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise QueueError(f"cannot read the restart signal in {path}: {exc}") from exc
    matched = _CONTENT.fullmatch(content)
    if matched is None or int(matched.group(1)) <= now:
        return None
    return int(matched.group(2))


def write_file_restart_signal(directory: Path, *, now: int) -> Path:
    """Store `now` forever where `FileStore` would, in one rename (a reader never sees half
    a file); return the file.

    Raises:
        QueueError: the folder cannot be created or written.
    """
    path = restart_file(directory)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".bridge-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"{_FOREVER}i:{now};")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise QueueError(f"cannot write the restart signal in {path}: {exc}") from exc
    return path

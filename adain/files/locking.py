"""Advisory file locks (``flock``) that the operating system drops when their holder dies."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["try_lock", "held_lock"]


def try_lock(path: str | Path) -> IO | None:
    """Take an exclusive lock on ``path`` (created if needed) without waiting.

    Returns:
        The open file holding the lock (closing it releases the lock), or ``None`` if another
        open file description, in this or another process, holds it.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


@contextlib.contextmanager
def held_lock(path: str | Path) -> Iterator[IO]:
    """Hold an exclusive lock on ``path`` for the ``with`` block, waiting for it if needed."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle

"""Crash-safe file writing: write to a unique temporary name beside the target, then rename."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is fsynced and renamed onto ``target``.

    On any exception the temporary file is removed and ``target`` is left untouched, so a reader
    never sees a half-written file under the final name. The temporary name is unique per call
    (pid + random), so two writers never share one.

    Example:
        >>> with atomic_path("out.h5") as tmp:   # doctest: +SKIP
        ...     write_file(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    # a long target name keeps the temporary name within the file system's 255-byte limit
    name = (
        target.name
        if len(target.name.encode()) + len(suffix) + 1 <= 255
        else target.name.encode()[:64].decode("utf-8", "ignore")
    )
    tmp = target.with_name(f".{name}{suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))

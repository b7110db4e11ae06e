"""Crash-safe file writing: write to a unique temporary name beside the target, then rename.

A writer killed with SIGKILL leaves its temporary file (``.<name>.tmp-<pid>-<id>``) behind; the next
write of the same target removes it once no process of that pid lives on this machine. (One job
writes a target at a time: Snakemake runs one job per output, and duplicate stylize jobs of a
restarted cluster controller wait for a lock.)"""

from __future__ import annotations

import os
import re
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
    _remove_abandoned(target.parent, name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _remove_abandoned(folder: Path, name: str) -> None:
    """Remove the temporary files of ``folder/name`` left by writers that are no longer alive."""
    pattern = re.compile(re.escape(f".{name}.tmp-") + r"(\d+)-[0-9a-f]{8}")
    for entry in os.scandir(folder):
        match = pattern.fullmatch(entry.name)
        if match and not _alive(int(match.group(1))):
            Path(entry.path).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))

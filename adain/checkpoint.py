"""Checkpoints of a shard in progress: verified ``.npz`` parts covering consecutive manifest rows.

A part is named ``<start>-<end>-<sha256 prefix>.npz`` and written atomically; on reuse its bytes
must match the hash in its name, and the parts must chain from row 0 without gaps. Anything else
(a torn copy, a stray temporary file, a part from a different plan) is discarded and redone.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes

__all__ = ["PartStore", "rows_checkpointed"]

log = logging.getLogger(__name__)
_PART = re.compile(r"^(\d{7})-(\d{7})-([0-9a-f]{16})\.npz$")


def rows_checkpointed(folder: str | Path) -> int:
    """How far the parts in ``folder`` reach, from their names alone (for progress reports; a
    resuming job verifies them with :meth:`PartStore.load`)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return max((int(match[2]) for path in folder.iterdir() if (match := _PART.match(path.name))), default=0)


class PartStore:
    """Parts of one shard under ``folder``; ``fingerprint`` ties them to one plan (manifest and
    settings): parts written under another fingerprint are discarded."""

    def __init__(self, folder: str | Path, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint

    def save(self, start: int, end: int, arrays: dict[str, np.ndarray]) -> Path:
        """Store the results of rows ``[start, end)``."""
        buffer = io.BytesIO()
        np.savez(buffer, fingerprint=np.array(self.fingerprint), **arrays)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        path = self.folder / f"{start:07d}-{end:07d}-{digest}.npz"
        atomic_write_bytes(path, data)
        return path

    def load(self) -> list[tuple[int, int, dict[str, np.ndarray]]]:
        """The verified parts that chain from row 0, in order; everything else is deleted."""
        if not self.folder.is_dir():
            return []
        candidates = {}
        for path in sorted(self.folder.iterdir()):
            match = _PART.match(path.name)
            if match is None:
                log.info("discarding stray checkpoint file %s", path)
                path.unlink()
                continue
            candidates.setdefault(int(match[1]), []).append((int(match[2]), match[3], path))
        parts, row = [], 0
        while row in candidates:
            chosen = None
            for end, digest, path in candidates.pop(row):
                data = path.read_bytes()
                if chosen is None and hashlib.sha256(data).hexdigest()[:16] == digest:
                    try:
                        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                            arrays = {k: npz[k] for k in npz.files}
                        if str(arrays.pop("fingerprint")) == self.fingerprint and end > row:
                            chosen = (row, end, arrays)
                            continue
                    except Exception:  # noqa: BLE001 - any unreadable part is simply redone
                        pass
                log.warning("discarding checkpoint %s (corrupt or from another plan)", path)
                path.unlink()
            if chosen is None:
                break
            parts.append(chosen)
            row = chosen[1]
        for leftovers in candidates.values():
            for _, _, path in leftovers:
                log.info("discarding unchained checkpoint %s", path)
                path.unlink()
        return parts

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

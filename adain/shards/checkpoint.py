"""Checkpoints of a shard in progress: verified ``.npz`` parts covering consecutive manifest rows.

A part is named ``<start>-<end>-<plan tag>.npz`` and written atomically; it records the rows it
covers (kept and rejected) and, for a stylize job, the CRC-32 of each kept image, whose pixels
are in the job's staging work file (:data:`WORK_FILE`, :class:`adain.shards.format.ShardWriter`): an
image is written once. The ``.npz`` is a zip whose every array carries a CRC-32, checked when
the part is read back. On reuse, every array must read back intact, the fingerprint inside must
be the plan's, and the parts must chain from row 0 without gaps. Anything else (a torn or
bit-flipped copy, a stray temporary file, a part from a different plan or an older format) is
discarded and redone.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_path

__all__ = ["PartStore", "rows_checkpointed", "WORK_FILE"]

#: The staging work file of a stylize job, beside its parts.
WORK_FILE = "staging.h5"
#: Bumped when the contents of a part change: older parts are then another plan's.
_FORMAT = "2"

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
        self._tag = hashlib.sha256(f"{_FORMAT}:{fingerprint}".encode()).hexdigest()[:16]  # the plan, in file names

    def save(self, start: int, end: int, arrays: dict[str, np.ndarray]) -> Path:
        """Store the results of rows ``[start, end)``."""
        path = self.folder / f"{start:07d}-{end:07d}-{self._tag}.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, fingerprint=np.array(self.fingerprint), **arrays)
        return path

    def load(self) -> list[tuple[int, int, dict[str, np.ndarray]]]:
        """The verified parts that chain from row 0, in order; everything else is deleted."""
        if not self.folder.is_dir():
            return []
        candidates = {}
        for path in sorted(self.folder.iterdir()):
            match = _PART.match(path.name)
            if path.name == WORK_FILE:
                continue
            if match is None:
                log.info("discarding stray checkpoint file %s", path)
                path.unlink()
                continue
            candidates.setdefault(int(match[1]), []).append((int(match[2]), match[3], path))
        parts, row = [], 0
        while row in candidates:
            chosen = None
            for end, tag, path in candidates.pop(row):
                if chosen is None and tag == self._tag:
                    try:  # reading every array checks its CRC-32: a torn or flipped part fails here
                        with np.load(path, allow_pickle=False) as npz:
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

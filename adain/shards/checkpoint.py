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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_path
from .format import ShardWriter

__all__ = ["PartStore", "CheckpointedStaging", "rows_checkpointed", "parts_folder", "PARTS_SUFFIX", "WORK_FILE"]

#: A shard's checkpoints live in ``<shard>.h5`` + this suffix, beside the shard being made.
PARTS_SUFFIX = ".parts"
#: The staging work file of a stylize job, beside its parts.
WORK_FILE = "staging.h5"
#: Bumped when the contents of a part change: older parts are then another plan's.
_FORMAT = "2"

log = logging.getLogger(__name__)
_PART = re.compile(r"^(\d{7})-(\d{7})-([0-9a-f]{16})\.npz$")


def parts_folder(shard_h5: str | Path) -> Path:
    """The folder of ``shard_h5``'s checkpoints while it is made: ``<shard>.h5.parts``."""
    shard_h5 = Path(shard_h5)
    return shard_h5.with_name(shard_h5.name + PARTS_SUFFIX)


def rows_checkpointed(folder: str | Path) -> int:
    """How far the parts in ``folder`` reach, from their names alone (for progress reports; a
    resuming job verifies them with :meth:`PartStore.load`)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return max((int(match[2]) for path in folder.iterdir() if (match := _PART.match(path.name))), default=0)


class PartStore:
    """Parts of one shard under ``folder``; ``fingerprint`` ties them to one plan (manifest and
    settings): parts written under another fingerprint are discarded. ``environment`` (e.g. the
    device's name and the torch, CUDA and cuDNN versions, as text) ties them to what computed
    them: parts made under another environment are discarded too, so that a shard never mixes
    the numerics of two GPUs or library versions."""

    def __init__(self, folder: str | Path, fingerprint: str, environment: str = "") -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.environment = environment
        self._tag = hashlib.sha256(f"{_FORMAT}:{fingerprint}".encode()).hexdigest()[:16]  # the plan, in file names

    def save(self, start: int, end: int, arrays: dict[str, np.ndarray]) -> Path:
        """Store the results of rows ``[start, end)``."""
        path = self.folder / f"{start:07d}-{end:07d}-{self._tag}.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, fingerprint=np.array(self.fingerprint), environment=np.array(self.environment), **arrays)
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
                        made_with = str(arrays.pop("environment", ""))
                        if str(arrays.pop("fingerprint")) == self.fingerprint and end > row:
                            if made_with == self.environment:
                                chosen = (row, end, arrays)
                                continue
                            log.warning(
                                "discarding checkpoint %s: it was computed with %s, this job computes with %s; "
                                "the shard starts over so that it never mixes two devices' numerics",
                                path,
                                made_with or "an unrecorded environment",
                                self.environment,
                            )
                            path.unlink()
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


class CheckpointedStaging:
    """A shard's staging file and its checkpoints, written in order on one writer thread.

    Images arrive row by row (JPEG/PNG encodes as futures for encoded presets); at each safe point
    the piece gathered so far is appended to the staging file in row order, and, when one is due, a
    checkpoint vouches for everything appended since the last one (images synced first)."""

    def __init__(
        self,
        staging: ShardWriter,
        store: PartStore,
        parts: list,
        start: int,
        every_images: int,
        every_seconds: float,
        encoded: bool,
        on_checkpoint: Callable[[Path], None] | None = None,
    ) -> None:
        self.staging, self.store, self.parts, self.encoded = staging, store, parts, encoded
        self.on_checkpoint = on_checkpoint  # called with the parts folder after each checkpoint, on the writer
        self.every_images, self.every_seconds = every_images, every_seconds
        self.part_start, self.last_save, self.since_save = start, time.monotonic(), 0
        self.piece_rows: list[int] = []
        self.piece_images: list = []  # one image per row, or (add_run) blocks of rows
        self.piece_blocks = False
        self.piece_rejected: dict[int, str] = {}
        self.unsaved = {"rows": [], "checksums": [], "rejected": {}}  # since the last checkpoint (writer thread)
        self.saving: list = []  # staging and checkpoint writes, in order, off the stylizing thread
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adain-writer")

    def add(self, row: int, image) -> None:
        self.piece_rows.append(row)
        self.piece_images.append(image)
        self.since_save += 1

    def add_run(self, rows: list[int], images: np.ndarray) -> None:
        """Rows ``rows`` (ascending) with their images in one ``uint8 (n, H, W, 3)`` block
        (fixed sizes): staged as the block itself, nothing per image."""
        self.piece_rows.extend(rows)
        self.piece_images.append(images)
        self.piece_blocks = True
        self.since_save += len(rows)

    def reject(self, row: int, reason: str) -> None:
        self.piece_rejected[row] = reason

    def safe_point(self, end: int, total: int) -> bool:
        """Rows before ``end`` are all done: stage the piece; checkpoint if due. True if it did."""
        if self.piece_rows or self.piece_rejected:
            rows, images = self._piece_in_order()
            self.saving.append(self.writer.submit(self._stage, rows, images, self.piece_rejected))
            self.piece_rows, self.piece_images, self.piece_rejected, self.piece_blocks = [], [], {}, False
        due = self.since_save >= self.every_images or time.monotonic() - self.last_save >= self.every_seconds
        checkpointed = end > self.part_start and (due or end == total)
        if checkpointed:
            self.saving.append(self.writer.submit(self._checkpoint, self.part_start, end))
            self.part_start, self.last_save, self.since_save = end, time.monotonic(), 0
        while self.saving and (self.saving[0].done() or len(self.saving) > 16):  # bounded: a slow disk holds us back
            self.saving.pop(0).result()  # a failed write stops the job here, not at the end
        return checkpointed

    def _piece_in_order(self) -> tuple[list[int], list]:
        """The piece's rows ascending and their images: blocks as they are when their rows already
        ascend (batches arrive in order), else one image per row, sorted."""
        rows, images = self.piece_rows, self.piece_images
        if self.piece_blocks:
            if all(a < b for a, b in zip(rows, rows[1:])):
                return rows, images
            images = [row for block in images for row in block]
        order = np.argsort(rows, kind="stable")
        return sorted(rows), [images[i] for i in order]

    def finish(self) -> None:
        """Wait for every write, raising the first failure."""
        for future in self.saving:
            future.result()

    def stop(self) -> None:
        """Let the writer thread finish what it has and end (also after a failure, before the
        staging file is closed)."""
        self.writer.shutdown(wait=True)

    def _stage(self, rows: list[int], images: list, rejected: dict[int, str]) -> None:
        if self.encoded:
            images = [future.result() for future in images]
        self.unsaved["checksums"].append(self.staging.append(images))
        self.unsaved["rows"] += rows
        self.unsaved["rejected"].update(rejected)

    def _checkpoint(self, first: int, end: int) -> None:
        unsaved, rejected = self.unsaved, self.unsaved["rejected"]
        arrays = {
            "rows": np.asarray(unsaved["rows"], dtype=np.int64),
            "checksums": np.concatenate(unsaved["checksums"]).astype(np.uint32)
            if unsaved["checksums"]
            else np.zeros(0, np.uint32),
            "rejected_rows": np.asarray(sorted(rejected), dtype=np.int64),
            "rejected_reasons": np.asarray([rejected[r] for r in sorted(rejected)], dtype=str),
        }
        self.unsaved = {"rows": [], "checksums": [], "rejected": {}}
        self.staging.sync()  # the images first, then the part that vouches for them
        self.store.save(first, end, arrays)
        self.parts.append((first, end, arrays))
        if self.on_checkpoint is not None:  # the work file is quiet until this returns
            self.on_checkpoint(self.store.folder)

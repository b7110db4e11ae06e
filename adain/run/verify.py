"""``adain verify``: re-check every image of every shard against the checksums stored when packing.

Every run already checks each shard cheaply (it opens, its counts and fingerprints agree: see
:mod:`adain.run.reconcile`); flipped bits inside the images are found only by reading them, which is
what this does, in parallel, with a progress bar.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ..shards.format import row_checksums

__all__ = ["ShardCheck", "verify_shard", "verify_shards"]


@dataclass(frozen=True)
class ShardCheck:
    """The outcome for one shard: ``problem`` is ``None`` when every row matches its checksum."""

    path: Path
    images: int
    problem: str | None


def verify_shard(path: str | Path, block: int = 256) -> ShardCheck:
    """Compare every stored image of ``path`` with its CRC-32 (read in blocks of ``block`` rows)."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            if "checksums" not in handle:
                return ShardCheck(path, 0, "no checksums (not packed by this version)")
            codec = str(handle.attrs.get("codec", "raw"))
            images, stored = handle["images"], handle["checksums"][()]
            if len(stored) != len(images):
                return ShardCheck(path, len(images), f"{len(stored)} checksums for {len(images)} images")
            bad = []
            for start in range(0, len(images), block):
                rows = images[start : start + block]
                found = row_checksums(rows if codec == "raw" else list(rows), codec)
                bad += (np.flatnonzero(found != stored[start : start + len(found)]) + start).tolist()
            if bad:
                return ShardCheck(path, len(images), f"{len(bad)} image(s) damaged, e.g. rows {bad[:5]}")
            return ShardCheck(path, len(images), None)
    except (OSError, KeyError, ValueError) as error:
        return ShardCheck(path, 0, f"unreadable: {error}")


def verify_shards(paths: list[Path], workers: int = 4, progress: bool = True) -> list[ShardCheck]:
    """:func:`verify_shard` on each of ``paths`` with ``workers`` threads (h5py and zlib release the GIL)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(verify_shard, paths)
        return list(tqdm(results, total=len(paths), desc="verify", unit="shard", disable=not progress))

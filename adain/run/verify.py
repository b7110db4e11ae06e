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
from .paths import RunPaths

__all__ = ["ShardCheck", "verify_shard", "verify_shards", "verify_output"]


@dataclass(frozen=True)
class ShardCheck:
    """The outcome for one shard: ``problem`` is ``None`` when every row matches its checksum;
    ``rejected``: the content rejects the shard lists."""

    path: Path
    images: int
    problem: str | None
    rejected: int = 0


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
            rejected = len(handle["rejected_content"]) if "rejected_content" in handle else 0
            if bad:
                return ShardCheck(path, len(images), f"{len(bad)} image(s) damaged, e.g. rows {bad[:5]}", rejected)
            return ShardCheck(path, len(images), None, rejected)
    except (OSError, KeyError, ValueError) as error:
        return ShardCheck(path, 0, f"unreadable: {error}")


def verify_shards(paths: list[Path], workers: int = 4, progress: bool = True) -> list[ShardCheck]:
    """:func:`verify_shard` on each of ``paths`` with ``workers`` threads (h5py and zlib release the GIL)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(verify_shard, paths)
        return list(tqdm(results, total=len(paths), desc="verify", unit="shard", disable=not progress))


def verify_output(path: str | Path, workers: int = 4, repair: bool = False) -> int:
    """``adain verify PATH``: check every shard of an output folder (those its summary lists, and any
    others below ``shards/``), a folder of shards or one shard; print what is missing or damaged and,
    with ``repair``, move the damaged ones out of an output folder's dataset so a run remakes them.

    Returns:
        The exit status: 1 if a shard is damaged or missing, else 0.
    """
    from ..data import find_shards
    from .reconcile import retire

    root, paths = Path(path), RunPaths(path)
    missing: list[Path] = []
    shards = _listed_or_present(paths, missing) if paths.summary_json.is_file() else find_shards(root)
    checks = verify_shards(shards, workers)
    damaged = [c for c in checks if c.problem]
    for shard in missing:
        print(f"missing {shard}: listed in summary.json")
    for check in damaged:
        print(f"damaged {check.path}: {check.problem}")
    total = len(checks) + len(missing)
    images = sum(c.images for c in checks)
    print(f"{len(checks) - len(damaged)} of {total} shard(s) intact, {images} images read")
    if paths.summary_json.is_file():
        print(_counts_line(paths, images, sum(c.rejected for c in checks)))
    if damaged and repair:
        if not paths.manifest_dir.is_dir() and not paths.summary_json.is_file():
            raise ValueError(
                f"--repair needs a workflow output folder (with manifest/ or summary.json); {root} is not one"
            )
        for check in damaged:
            retire(root, check.path, f"damaged: {check.problem}")
        print(f"moved {len(damaged)} damaged shard(s) to {paths.stale_dir}; run the workflow again to remake them")
    return 1 if damaged or missing else 0


def _counts_line(paths: RunPaths, images: int, shard_rejects: int) -> str:
    """The run's counts as the shards just read say them (as every report of the run says them),
    and whether ``summary.json`` agrees."""
    import json

    from ..stages.counts import RANDOM_STANDIN_WARNING, RunCounts
    from .counts import folder_records, run_counts

    records = folder_records(paths.root)
    summary = json.loads(paths.summary_json.read_text())
    found, recorded = run_counts(images, shard_rejects, records), RunCounts.from_summary(summary)
    agreed = "as summary.json says" if found == recorded else f"but summary.json says {recorded.phrase()}"
    standin = f"; WARNING: {RANDOM_STANDIN_WARNING}" if records.random_standin_weights else ""
    return f"the run: {found.phrase()} ({agreed}){standin}"


def _listed_or_present(paths: RunPaths, missing: list[Path]) -> list[Path]:
    """The shards an output folder's summary lists that still exist, plus any others below shards/
    (verify reports what it finds instead of refusing a damaged dataset); listed but absent ones
    are appended to ``missing``."""
    import json

    summary = json.loads(paths.summary_json.read_text())
    listed = {paths.below(entry["file"]) for entry in summary.get("shard_files", [])}
    present = set(paths.shards_dir.rglob("*.h5")) if paths.shards_dir.is_dir() else set()
    missing += sorted(p for p in listed if not p.exists())
    return sorted(p for p in listed | present if p.exists() and not p.name.startswith("."))

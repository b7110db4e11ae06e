"""``stale/``: shards a setting change moved out of the dataset: how much it holds, and clearing it.

Reconciling moves every shard that no longer fits the configuration to
``<output_dir>/stale/<time>/`` (listed in ``stale/stale.tsv``) instead of deleting it; at ImageNet
scale each change can leave hundreds of GB there. :func:`stale_usage` measures it (for the run's
console line and ``adain status``); :func:`clean_stale` (``adain clean --stale``) removes it and
nothing else: never a current shard, never a file outside ``stale/``, never while a run is live.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..files.locking import try_lock
from .paths import RunPaths

__all__ = ["StaleUsage", "stale_usage", "clean_stale", "describe_stale", "CLEAN_COMMAND"]

CLEAN_COMMAND = "adain clean --stale"


@dataclass(frozen=True)
class StaleUsage:
    files: int = 0
    bytes: int = 0

    def __str__(self) -> str:
        return f"{self.files} file(s), {_size(self.bytes)}"


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def stale_usage(output_dir: str | Path) -> StaleUsage:
    """Shard files (``*.h5``) below ``stale/`` and the bytes of everything there."""
    stale = RunPaths(output_dir).stale_dir
    if not stale.is_dir() or stale.is_symlink():
        return StaleUsage()
    files = [p for p in stale.rglob("*") if p.is_file() and not p.is_symlink()]
    return StaleUsage(sum(p.suffix == ".h5" for p in files), sum(p.stat().st_size for p in files))


def describe_stale(output_dir: str | Path, moved: int) -> str:
    """The line a run prints after moving ``moved`` shards to ``stale/``."""
    usage = stale_usage(output_dir)
    return (
        f"moved {moved} shard file(s) to {RunPaths(output_dir).stale_dir} (listed in stale.tsv); stale/ now holds "
        f"{usage}: `{CLEAN_COMMAND} {output_dir}` removes it (never a current shard)"
    )


def clean_stale(output_dir: str | Path, dry_run: bool = False) -> StaleUsage:
    """Remove ``<output_dir>/stale/`` (what it held is returned).

    Raises:
        OSError: ``output_dir`` is in use by a live run, or ``stale`` is not a plain folder.
    """
    paths = RunPaths(output_dir)
    stale = paths.stale_dir
    if stale.is_symlink() or (stale.exists() and not stale.is_dir()):
        raise OSError(f"{stale} is not a plain folder; remove it yourself if it is yours")
    usage = stale_usage(output_dir)
    if dry_run or not stale.is_dir():
        return usage
    lock_file = paths.run_lock
    lock = try_lock(lock_file)
    if lock is None:
        raise OSError(f"{output_dir} is in use by a live run; clean it once the run has ended")
    try:
        shutil.rmtree(stale)
    finally:
        lock_file.unlink(missing_ok=True)
        lock.close()
    return usage


def clean_stale_in_bucket(url: str, dry_run: bool = False) -> StaleUsage:
    """:func:`clean_stale` for an output folder kept in S3 (``output_dir: s3://...``): removes the
    bucket's ``stale/`` objects. A machine's local copy keeps its own ``stale/`` (its next run
    would send it up again): clean that folder too, or clean only the local copy while a run
    goes on (its pushes then remove them from the bucket).

    Raises:
        OSError: a live run holds the bucket copy's lease.
    """
    from ..files.objectstore import S3Folder
    from .mirror import LEASE

    folder = S3Folder(url)
    folder.check()
    stored = folder.list()
    keys = [key for key in stored if key.startswith("stale/")]
    usage = StaleUsage(sum(k.endswith(".h5") for k in keys), sum(stored[k].size for k in keys))
    if dry_run or not keys:
        return usage
    if folder.read_text(LEASE) is not None:
        raise OSError(f"{url} is in use by a live run (or one killed less than a few minutes ago); clean it later")
    folder.delete(keys)
    return usage

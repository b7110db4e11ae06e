"""The manifest: a painting for every image (seeded), cut into shards of ``shard_size``.

Written as one folder: ``shards.tsv`` (split, shard, images) and ``<split>/<shard>.tsv`` with the
columns of :data:`MANIFEST_COLUMNS`, rows in index order. The folder appears by one rename, so a
crash never leaves a partial manifest.
"""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .assign import draw_paintings
from .identity import digest
from .index import iter_index
from .tsv import iter_tsv, open_tsv, read_meta, rows_digest, write_tsv

__all__ = [
    "MANIFEST_COLUMNS", "ManifestRow", "write_manifests", "read_manifest", "read_shard_list", "shard_name",
    "manifest_fingerprint", "names_digest", "read_manifest_fingerprint",
]

#: ``size`` and ``mtime_ns``: the content file's version when it was indexed.
MANIFEST_COLUMNS = ["split", "content", "wnid", "label", "clsloc", "style", "size", "mtime_ns"]


@dataclass(frozen=True)
class ManifestRow:
    split: str
    content: str
    wnid: str
    label: int
    clsloc: int
    style: str
    size: int = -1
    mtime_ns: int = -1


def names_digest(paintings: Sequence[str] | None) -> str | None:
    """Digest of the usable painting names (the list the draws index into)."""
    return None if paintings is None else digest(list(paintings))


def manifest_fingerprint(images_tsv: str | Path, paintings_digest: str | None, seed: int, shard_size: int) -> str:
    """What decides the manifests: the index's rows, the painting names, the seed, the shard size."""
    return digest({"index": rows_digest(images_tsv), "paintings": paintings_digest, "seed": int(seed),
                   "shard_size": int(shard_size), "columns": MANIFEST_COLUMNS})


def shard_name(shard: int) -> str:
    return f"{shard:05d}"


def write_manifests(
    images_tsv: str | Path,
    paintings: Sequence[str] | None,
    seed: int,
    shard_size: int,
    out_dir: str | Path,
) -> dict[str, int]:
    """Assign one painting per image and write the shard manifests into ``out_dir``.

    The index is streamed: memory stays flat in the number of images.

    Args:
        images_tsv: the index (:func:`adain.index.write_index`), rows grouped by split.
        paintings: usable painting names, sorted; the draw is a number into this list. ``None``
            for methods without paintings (the texture-suppression filters): ``style`` stays empty.
        seed: the run's seed (see :mod:`adain.assign`).
        shard_size: images per shard.

    ``shards.tsv`` records the fingerprint (:func:`manifest_fingerprint`).

    Returns:
        split -> number of shards.
    """
    fingerprint = manifest_fingerprint(images_tsv, names_digest(paintings), seed, shard_size)
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if paintings is not None and not paintings:
        raise ValueError("no usable paintings")
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    counts: dict[str, int] = {}
    listing: list[tuple[str, str, int]] = []
    handle, writer, current, filled = None, None, None, 0
    try:
        for record in iter_index(images_tsv):
            if record.split != current or filled == shard_size:
                if handle is not None:
                    handle.close()
                    listing.append((current, shard_name(counts[current] - 1), filled))
                if record.split != current and record.split in counts:
                    raise ValueError(f"{images_tsv}: rows of split {record.split!r} are not contiguous")
                current, filled = record.split, 0
                counts[current] = counts.get(current, 0) + 1
                path = tmp / current / f"{shard_name(counts[current] - 1)}.tsv"
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "w", newline="", encoding="utf-8")
                writer = open_tsv(handle, MANIFEST_COLUMNS)
            style = paintings[draw_paintings(seed, record.content, len(paintings))[0]] if paintings else ""
            writer.writerow((record.split, record.content, record.wnid, record.label, record.clsloc, style,
                             record.size, record.mtime_ns))
            filled += 1
        if handle is None:
            raise ValueError(f"{images_tsv} lists no images")
        handle.close()
        listing.append((current, shard_name(counts[current] - 1), filled))
        write_tsv(tmp / "shards.tsv", ["split", "shard", "images"], listing, {"fingerprint": fingerprint})
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if handle is not None and not handle.closed:
            handle.close()
        if tmp.exists():
            shutil.rmtree(tmp)
    return counts


def read_manifest(path: str | Path) -> list[ManifestRow]:
    return [
        ManifestRow(r["split"], r["content"], r["wnid"], int(r["label"]), int(r["clsloc"]), r["style"],
                    int(r.get("size", -1)), int(r.get("mtime_ns", -1)))
        for r in iter_tsv(path)
    ]


def read_shard_list(shards_tsv: str | Path) -> list[tuple[str, str, int]]:
    """``(split, shard, images)`` rows of ``shards.tsv``."""
    return [(r["split"], r["shard"], int(r["images"])) for r in iter_tsv(shards_tsv)]


def read_manifest_fingerprint(manifest_dir: str | Path) -> str | None:
    """The fingerprint recorded in ``<manifest_dir>/shards.tsv`` (``None`` if absent)."""
    return (read_meta(Path(manifest_dir) / "shards.tsv") or {}).get("fingerprint")

"""The manifest: a painting for every image (seeded), cut into shards of ``shard_size``.

Written as one folder: ``shards.tsv`` (split, shard, images) and ``<split>/<shard>.tsv`` with the
columns of :data:`MANIFEST_COLUMNS`, rows in index order. The folder appears by one rename, so a
crash never leaves a partial manifest.
"""
from __future__ import annotations

import csv
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .assign import assign_paintings
from .index import ImageRecord, read_index

__all__ = ["MANIFEST_COLUMNS", "ManifestRow", "write_manifests", "read_manifest", "read_shard_list", "shard_name"]

MANIFEST_COLUMNS = ["split", "content", "wnid", "label", "clsloc", "style"]


@dataclass(frozen=True)
class ManifestRow:
    split: str
    content: str
    wnid: str
    label: int
    clsloc: int
    style: str


def shard_name(shard: int) -> str:
    return f"{shard:05d}"


def write_manifests(
    images_tsv: str | Path,
    paintings: Sequence[str],
    seed: int,
    shard_size: int,
    out_dir: str | Path,
) -> dict[str, int]:
    """Assign one painting per image and write the shard manifests into ``out_dir``.

    Args:
        images_tsv: the index (:func:`adain.index.write_index`).
        paintings: usable painting names, sorted; the draw is a number into this list.
        seed: the run's seed (see :mod:`adain.assign`).
        shard_size: images per shard.

    Returns:
        split -> number of shards.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if not paintings:
        raise ValueError("no usable paintings")
    records: list[ImageRecord] = read_index(images_tsv)
    draws = assign_paintings(seed, [r.content for r in records], len(paintings))
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    by_split: dict[str, list[tuple[ImageRecord, str]]] = {}
    for record, (draw,) in zip(records, draws):
        by_split.setdefault(record.split, []).append((record, paintings[draw]))
    counts: dict[str, int] = {}
    try:
        listing = []
        for split, rows in by_split.items():
            (tmp / split).mkdir(parents=True)
            shards = (len(rows) + shard_size - 1) // shard_size
            counts[split] = shards
            for shard in range(shards):
                part = rows[shard * shard_size : (shard + 1) * shard_size]
                with open(tmp / split / f"{shard_name(shard)}.tsv", "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
                    writer.writerow(MANIFEST_COLUMNS)
                    writer.writerows((r.split, r.content, r.wnid, r.label, r.clsloc, p) for r, p in part)
                listing.append((split, shard_name(shard), len(part)))
        with open(tmp / "shards.tsv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["split", "shard", "images"])
            writer.writerows(listing)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return counts


def read_manifest(path: str | Path) -> list[ManifestRow]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            ManifestRow(r["split"], r["content"], r["wnid"], int(r["label"]), int(r["clsloc"]), r["style"])
            for r in csv.DictReader(handle, delimiter="\t")
        ]


def read_shard_list(shards_tsv: str | Path) -> list[tuple[str, str, int]]:
    """``(split, shard, images)`` rows of ``shards.tsv``."""
    with open(shards_tsv, newline="", encoding="utf-8") as handle:
        return [(r["split"], r["shard"], int(r["images"])) for r in csv.DictReader(handle, delimiter="\t")]

"""The manifest: a painting for every image (seeded), cut into shards of ``shard_size``.

Written as one folder: ``shards.tsv`` (split, shard, images) and ``<split>/<shard>.tsv`` with the
columns of :data:`MANIFEST_COLUMNS`; a split's images are spread over its shards in a seeded
random order (or in index order, ``order="sorted"``). The folder appears by one rename, so a crash
never leaves a partial manifest.

With ``styles_per_image`` K > 1 every image is K *samples* ``(content, k)``, ``k = 0 .. K-1``,
each with its own painting (K distinct draws of the image's seeded stream: sample ``k = 0`` gets
the painting a K = 1 run gives it), and the manifests gain the column ``k``. A K = 1 manifest
keeps today's columns and fingerprint, so existing runs stay current.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.painting_draws import draw_paintings
from ..files.tsv import iter_tsv, read_meta, rows_digest, write_tsv
from .fingerprints import digest
from .index_images import iter_index

__all__ = [
    "MANIFEST_COLUMNS",
    "ManifestRow",
    "write_manifests",
    "read_manifest",
    "read_shard_list",
    "shard_name",
    "manifest_fingerprint",
    "manifest_settings",
    "manifest_changes",
    "names_digest",
    "read_manifest_fingerprint",
    "read_manifest_settings",
    "shuffle_key",
    "ORDERS",
    "sample_key",
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
    k: int = 0  # the sample's number among its image's styles_per_image


def sample_key(content: str, k: int = 0) -> str:
    """How reports and reject lists name a sample: its content path, with ``#k<k>`` for k > 0."""
    return content if not k else f"{content}#k{int(k)}"


def names_digest(paintings: Sequence[str] | None) -> str | None:
    """Digest of the usable painting names (the list the draws index into)."""
    return None if paintings is None else digest(list(paintings))


def manifest_settings(
    images_tsv: str | Path,
    paintings_digest: str | None,
    seed: int,
    shard_size: int,
    order: str = "shuffled",
    styles_per_image: int = 1,
) -> dict:
    """What decides the manifests: the index's rows, the painting names, the seed, the shard size,
    the order of images over the shards and the styles per image (recorded only when > 1, so the
    fingerprint of a K = 1 run is the one it always had). ``shards.tsv`` records it beside its
    fingerprint, so that a rebuild can say which of them changed (:func:`manifest_changes`)."""
    decided = {
        "index": rows_digest(images_tsv),
        "paintings": paintings_digest,
        "seed": int(seed),
        "shard_size": int(shard_size),
        "order": order,
        "columns": MANIFEST_COLUMNS,
    }
    if int(styles_per_image) != 1:
        decided.update(styles_per_image=int(styles_per_image), columns=MANIFEST_COLUMNS + ["k"])
    return decided


def manifest_fingerprint(*args, **kwargs) -> str:
    """The digest of :func:`manifest_settings` (same arguments)."""
    return digest(manifest_settings(*args, **kwargs))


#: What a change of each manifest input is called, for the ones that are not a setting's value.
_INPUT_NAMES = {
    "index": "the indexed content images (files added, removed or changed)",
    "paintings": "the usable paintings",
    "columns": "the manifest columns (another version of adain-datasets)",
}


def manifest_changes(recorded: dict | None, planned: dict) -> list[str]:
    """What differs between the manifest settings ``shards.tsv`` recorded and the planned ones:
    ``["seed 0 -> 1"]``, ``["shard_size 8 -> 4", "the usable paintings"]``; ``[]`` when nothing
    is known (manifests made before the settings were recorded: ``recorded`` is ``None``)."""
    if not recorded:
        return []
    changes, default = [], {"styles_per_image": 1}  # recorded only when > 1
    for key in ("seed", "shard_size", "order", "styles_per_image"):
        old, new = recorded.get(key, default.get(key)), planned.get(key, default.get(key))
        if old != new:
            changes.append(f"{key} {old} -> {new}")
    styles_changed = recorded.get("styles_per_image", 1) != planned.get("styles_per_image", 1)
    changes += [
        name
        for key, name in _INPUT_NAMES.items()
        if recorded.get(key) != planned.get(key) and not (key == "columns" and styles_changed)
    ]
    return changes


def read_manifest_settings(manifest_dir: str | Path) -> dict | None:
    """The manifest settings recorded in ``<manifest_dir>/shards.tsv`` (``None`` if absent)."""
    return (read_meta(Path(manifest_dir) / "shards.tsv") or {}).get("settings")


def shard_name(shard: int) -> str:
    return f"{shard:05d}"


#: Manifest rows held in memory at once while shuffled shards are written (a few tens of MB).
_ROWS_IN_MEMORY = 200_000
ORDERS = ("shuffled", "sorted")


def shuffle_key(seed: int, content: str, k: int = 0) -> int:
    """A sample's place in a shuffled split: a seeded hash of its path (and ``k`` when > 0),
    independent of the rest, so an image's K samples land far apart."""
    name = content if not k else f"{content}\0{int(k)}"
    return int.from_bytes(
        hashlib.sha256(f"{int(seed)}\0{name}".encode("utf-8", "surrogateescape")).digest()[:8], "little"
    )


def _positions(images_tsv: Path, seed: int, order: str, styles: int) -> dict[str, np.ndarray]:
    """Per split: ``position[i * styles + k]`` = where sample ``k`` of the split's ``i``-th index
    row goes (0 = first row of its first shard). Raises if a split's rows are not contiguous."""
    keys: dict[str, list[int]] = {}
    previous = None
    for record in iter_index(images_tsv):
        if record.split != previous and record.split in keys:
            raise ValueError(f"{images_tsv}: rows of split {record.split!r} are not contiguous")
        previous = record.split
        keys.setdefault(record.split, []).extend(
            shuffle_key(seed, record.content, k) if order == "shuffled" else 0 for k in range(styles)
        )
    positions = {}
    for split, split_keys in keys.items():
        ranks = np.argsort(np.asarray(split_keys, dtype=np.uint64), kind="stable")
        position = np.empty(len(ranks), dtype=np.int64)
        position[ranks] = np.arange(len(ranks))
        positions[split] = position
    return positions


def write_manifests(
    images_tsv: str | Path,
    paintings: Sequence[str] | None,
    seed: int,
    shard_size: int,
    out_dir: str | Path,
    order: str = "shuffled",
    styles_per_image: int = 1,
) -> dict[str, int]:
    """Assign one painting per image and write the shard manifests into ``out_dir``.

    Args:
        images_tsv: the index (:func:`adain.stages.index_images.write_index`), rows grouped by split.
        paintings: usable painting names, sorted; the draw is a number into this list. ``None``
            for methods without paintings (the texture-suppression filters): ``style`` stays empty.
        seed: the run's seed (see :mod:`adain.engine.painting_draws`); it also orders ``shuffled`` shards.
        shard_size: images per shard.
        order: ``shuffled`` (default): a split's images are spread over its shards in a seeded
            random order (:func:`shuffle_key`), so a shard holds a mix of classes; ``sorted``: in
            index order (class by class). Either way the same seed gives the same bytes.
        styles_per_image: K samples per image (stylize-datasets' ``--num-styles``), each with
            its own of K distinct paintings; needs ``paintings``. Shards count samples.

    The index is streamed (once per group of shards that fits in memory), so memory stays flat in
    the number of images. ``shards.tsv`` records the fingerprint (:func:`manifest_fingerprint`) and
    the settings it is the digest of (:func:`manifest_settings`).

    Returns:
        split -> number of shards.
    """
    styles = int(styles_per_image)
    _check_arguments(order, shard_size, styles, paintings)
    settings = manifest_settings(images_tsv, names_digest(paintings), seed, shard_size, order, styles)
    fingerprint = digest(settings)
    columns = MANIFEST_COLUMNS + (["k"] if styles > 1 else [])
    out_dir = Path(out_dir)
    positions = _positions(Path(images_tsv), seed, order, styles)
    if not positions:
        raise ValueError(f"{images_tsv} lists no images")
    counts = {split: -(-len(position) // shard_size) for split, position in positions.items()}
    listing = [
        (split, shard_name(s), min(shard_size, len(positions[split]) - s * shard_size))
        for split in positions
        for s in range(counts[split])
    ]
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    group = max(1, _ROWS_IN_MEMORY // shard_size)  # shards written per pass over the index
    try:
        for split in positions:
            (tmp / split).mkdir(parents=True, exist_ok=True)
            for first in range(0, counts[split], group):
                held = _gather(
                    images_tsv,
                    split,
                    positions[split],
                    range(first, first + group),
                    shard_size,
                    styles,
                    seed,
                    paintings,
                )
                for shard, rows in held.items():
                    write_tsv(tmp / split / f"{shard_name(shard)}.tsv", columns, (r for _, r in sorted(rows)))
        meta = {"fingerprint": fingerprint, "settings": settings}
        write_tsv(tmp / "shards.tsv", ["split", "shard", "images"], listing, meta)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return counts


def _check_arguments(order: str, shard_size: int, styles: int, paintings: Sequence[str] | None) -> None:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if styles < 1:
        raise ValueError(f"styles_per_image must be >= 1, got {styles}")
    if paintings is not None and not paintings:
        raise ValueError("no usable paintings")
    if styles > 1 and paintings is None:
        raise ValueError(
            "styles_per_image > 1 needs paintings (method adain): the other methods would store the same pixels K times"
        )
    if paintings is not None and styles > len(paintings):
        raise ValueError(
            f"styles_per_image {styles} needs as many distinct paintings, but only {len(paintings)} are usable"
        )


def _gather(
    images_tsv,
    split: str,
    position: np.ndarray,
    shards: range,
    shard_size: int,
    styles: int,
    seed: int,
    paintings: Sequence[str] | None,
) -> dict[int, list]:
    """One pass over the index: the rows of ``split``'s shards numbered in ``shards``, as
    ``shard -> [(position, manifest values), ...]`` with each sample's painting drawn."""
    held: dict[int, list] = {}
    row = -1
    for record in iter_index(images_tsv):
        if record.split != split:
            continue
        row += 1
        samples = position[row * styles : (row + 1) * styles]
        if not any(int(p) // shard_size in shards for p in samples):
            continue
        drawn = draw_paintings(seed, record.content, len(paintings), styles) if paintings else [None] * styles
        for k, sample in enumerate(map(int, samples)):
            if sample // shard_size in shards:
                values = (
                    record.split,
                    record.content,
                    record.wnid,
                    record.label,
                    record.clsloc,
                    paintings[drawn[k]] if paintings else "",
                    record.size,
                    record.mtime_ns,
                )
                held.setdefault(sample // shard_size, []).append((sample, values + ((k,) if styles > 1 else ())))
    return held


def read_manifest(path: str | Path) -> list[ManifestRow]:
    return [
        ManifestRow(
            r["split"],
            r["content"],
            r["wnid"],
            int(r["label"]),
            int(r["clsloc"]),
            r["style"],
            int(r.get("size", -1)),
            int(r.get("mtime_ns", -1)),
            int(r.get("k", 0)),
        )
        for r in iter_tsv(path)
    ]


def read_shard_list(shards_tsv: str | Path) -> list[tuple[str, str, int]]:
    """``(split, shard, images)`` rows of ``shards.tsv``."""
    return [(r["split"], r["shard"], int(r["images"])) for r in iter_tsv(shards_tsv)]


def read_manifest_fingerprint(manifest_dir: str | Path) -> str | None:
    """The fingerprint recorded in ``<manifest_dir>/shards.tsv`` (``None`` if absent)."""
    return (read_meta(Path(manifest_dir) / "shards.tsv") or {}).get("fingerprint")

"""Which shards a reader reads: finding them, their sizes and codecs, and refusing mixed datasets."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

__all__ = [
    "find_shards",
    "shard_split",
    "ShardInfo",
    "read_shard_info",
    "MixedShardsError",
    "check_one_dataset",
    "Sources",
    "open_sources",
]


def find_shards(root_or_paths: str | Path | Sequence[str | Path], split: str | None = None) -> list[Path]:
    """Shard files: an output folder, a folder of shards, one file, or a list.

    An output folder's shards are exactly those its ``summary.json`` lists (``shard_files``), so a
    reader never picks up a stale or half-made shard; before the first summary, or for a plain
    folder, every ``*.h5`` below it (``shards/`` if present; hidden temporary files never).
    ``split`` keeps the shards whose ``split`` attribute equals it (the file name is not used).

    Raises:
        FileNotFoundError: nothing found, or a listed shard is missing (naming it).
    """
    if isinstance(root_or_paths, (str, Path)):
        root = Path(root_or_paths)
        listing = root / "summary.json"
        if root.is_file():
            paths = [root]
        elif listing.is_file() and "shard_files" in (summary := json.loads(listing.read_text())):
            paths = [root / entry["file"] for entry in summary["shard_files"]]
            missing = [p for p in paths if not p.is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{listing} lists {len(missing)} shard(s) that are missing, e.g. {missing[0]}: the dataset is "
                    "being rebuilt (run the workflow to completion) or was damaged (adain verify)"
                )
        elif root.is_dir():
            base = root / "shards" if (root / "shards").is_dir() else root
            paths = sorted(p for p in base.rglob("*.h5") if not p.name.startswith("."))
        else:
            raise FileNotFoundError(f"no shard file or folder at {root}")
    else:
        paths = [Path(p) for p in root_or_paths]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"shard file not found: {missing[0]}")
    if split is not None:
        paths = [p for p in paths if shard_split(p) == split]
    if not paths:
        raise FileNotFoundError(f"no shards{f' of split {split!r}' if split else ''} in {root_or_paths}")
    return paths


def shard_split(path: Path) -> str:
    """A shard's split: its ``split`` attribute, else the file name's prefix (``train-00000.h5``)."""
    try:
        with h5py.File(path, "r") as handle:
            split = handle.attrs.get("split")
    except OSError as error:
        raise OSError(f"damaged or unreadable shard {path}: {error}") from None
    return str(split) if split is not None else path.name.rsplit("-", 1)[0]


class MixedShardsError(ValueError):
    """The shards to read were made with different inputs, weights or settings."""


#: The shard attribute saying how its images were made, and its name in older shards
#: (the same value; adain.stages.fingerprints.STYLIZATION_ATTRS): either is read.
STYLIZATION_ATTRS = ("stylization_fingerprint", "dataset_fingerprint")


def stylization_of(info: ShardInfo) -> str:
    """A shard's stylization fingerprint under either name, "unknown" if it has none."""
    for key in STYLIZATION_ATTRS:
        value = info.attrs.get(key)
        if value:
            return value.decode() if isinstance(value, bytes) else str(value)
    return "unknown"


def check_one_dataset(infos: Sequence[ShardInfo]) -> None:
    """Refuse shards made in different ways (their stylization fingerprint: method, preset,
    weights, painting statistics, numerics) or of different image sizes, naming them. Shards that
    differ only in the seed or shard size share it: a folder mixing two such runs' shards is read.

    Raises:
        MixedShardsError: listing each group with a few of its shards.
    """
    groups: dict[tuple, list[str]] = {}
    for info in infos:
        key = (stylization_of(info), info.image_shape)
        groups.setdefault(key, []).append(str(info.path))
    if len(groups) > 1:
        lines = [
            f"fingerprint {fp[:16]}, images {shape or 'of varying size'}: {', '.join(paths[:3])}"
            f"{f' and {len(paths) - 3} more' if len(paths) > 3 else ''}"
            for (fp, shape), paths in sorted(groups.items(), key=str)
        ]
        raise MixedShardsError(
            "these shards are not one dataset (pass allow_mixed=True to read them together):\n  - "
            + "\n  - ".join(lines)
        )


#: What a reader reads: one source (an output folder, a folder of shards, a shard file or a list of
#: shard files), or several mixed: ``{source: weight}`` (see :func:`open_sources`).
Sources = str | Path | Sequence[str | Path] | Mapping[str | Path, int]


def open_sources(sources, split: str | None, allow_mixed: bool) -> tuple[list[ShardInfo], list[int]]:
    """The shards a reader reads in an epoch, and the number of each one's source.

    One source (a path or a list of shard files): its shards, once each, source 0, refused unless
    they are one dataset (``allow_mixed`` lifts it). Several sources: ``{source: weight}``, e.g.
    ``{"results/sin": 1, "results/in": 1}`` (Stylized-ImageNet beside ImageNet); a source's
    integer ``weight`` (>= 1) is how many times each of its samples is read per epoch (every
    sample of every source exactly ``weight`` times). Each source must be one dataset; together
    they must share the image size and the meaning of the labels (the same label is the same WNID).

    Raises:
        MixedShardsError: a source is not one dataset, or the sources differ in image size or labels.
        ValueError: a weight is not a whole number >= 1.
    """
    if not isinstance(sources, Mapping):
        infos = [read_shard_info(p) for p in find_shards(sources, split)]
        if not allow_mixed:
            check_one_dataset(infos)
        return infos, [0] * len(infos)
    infos, numbers, shapes, wnids = [], [], {}, {}
    for number, (source, weight) in enumerate(sources.items()):
        if isinstance(weight, bool) or not isinstance(weight, (int, np.integer)) or weight < 1:
            raise ValueError(
                f"the weight of {source} must be a whole number >= 1 (reads per sample and epoch), got {weight!r}"
            )
        found = [read_shard_info(p) for p in find_shards(source, split)]
        if not allow_mixed:
            check_one_dataset(found)
        shapes[str(source)] = {info.image_shape for info in found}
        for label, wnid in _label_names(found[0].path).items():
            if wnids.setdefault(label, (wnid, source))[0] != wnid:
                raise MixedShardsError(
                    f"label {label} is {wnids[label][0]} in {wnids[label][1]} but {wnid} in {source}: "
                    "the sources were indexed with other class lists"
                )
        infos += found * int(weight)
        numbers += [number] * (len(found) * int(weight))
    if len({frozenset(v) for v in shapes.values()}) > 1:
        raise MixedShardsError(
            "the sources hold images of different sizes: "
            + ", ".join(f"{k}: {sorted(map(str, v))}" for k, v in shapes.items())
        )
    return infos, numbers


def _label_names(path: Path) -> dict[int, str]:
    """label -> WNID of one shard's rows."""
    with h5py.File(path, "r") as handle:
        return {
            int(label): wnid.decode("utf-8", "backslashreplace")
            for label, wnid in zip(handle["labels"][()], handle["wnid"][()])
        }


@dataclass(frozen=True)
class ShardInfo:
    """What the reader needs to know about a shard before reading it."""

    path: Path
    count: int
    codec: str
    attrs: dict
    image_shape: tuple | None = None  # (H, W, 3) of fixed-size shards, None for encoded ones


def read_shard_info(path: Path) -> ShardInfo:
    """Count and codec of a shard. Raises ``OSError`` naming the file if it is missing or damaged."""
    try:
        with h5py.File(path, "r") as handle:
            count = len(handle["labels"])
            if len(handle["images"]) != count:
                raise OSError(f"{len(handle['images'])} images for {count} labels")
            codec = str(handle.attrs.get("codec", "raw"))
            shape = tuple(handle["images"].shape[1:]) if codec == "raw" else None
            return ShardInfo(path, count, codec, dict(handle.attrs), shape)
    except (OSError, KeyError) as error:
        raise OSError(f"damaged or unreadable shard {path}: {error}") from None

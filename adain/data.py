"""Reading shards for training and evaluation: map-style and streaming datasets.

Needs neither the model nor the engine: a training job imports ``adain.data``, h5py and the shard
format (:mod:`adain.shards.format`, whose image decoding it shares) only.

Files are opened lazily inside each process (DataLoader worker) on first use and never carried
across a fork: a dataset created and used in the parent re-opens its files in a forked child.
"""

from __future__ import annotations

import bisect
import json
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from .shards.format import decode_image

__all__ = [
    "find_shards",
    "ShardDataset",
    "ShardStream",
    "ShardInfo",
    "read_shard_info",
    "MixedShardsError",
    "check_one_dataset",
    "collate_variable_size",
    "shard_split",
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


def collate_variable_size(batch: Sequence[tuple]) -> tuple:
    """A DataLoader ``collate_fn`` for images of different sizes (preset ``full``): images stay a
    list of ``uint8 (3, H_i, W_i)`` tensors, labels become a ``(B,)`` tensor, metadata a list.

    Example:
        >>> loader = DataLoader(ShardDataset("results/full"), batch_size=64,
        ...                     collate_fn=collate_variable_size)   # doctest: +SKIP
    """
    columns = list(zip(*batch))
    images, labels = list(columns[0]), torch.tensor(columns[1], dtype=torch.int64)
    return (images, labels, list(columns[2])) if len(columns) > 2 else (images, labels)


class MixedShardsError(ValueError):
    """The shards to read were made with different inputs, weights or settings."""


def check_one_dataset(infos: Sequence[ShardInfo]) -> None:
    """Refuse shards of different datasets (``dataset_fingerprint``) or image sizes, naming them.

    Raises:
        MixedShardsError: listing each group with a few of its shards.
    """
    groups: dict[tuple, list[str]] = {}
    for info in infos:
        key = (str(info.attrs.get("dataset_fingerprint", "")) or "unknown", info.image_shape)
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


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """``uint8 (H, W, 3)`` -> contiguous ``uint8 (3, H, W)`` (so batching is one memcpy)."""
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def _memory_map(path: Path, dataset: h5py.Dataset) -> np.ndarray | None:
    """A read-only memory map of a contiguous, uncompressed uint8 dataset (else ``None``).

    HDF5 stores such a dataset as one block of raw bytes at a fixed file offset, so numpy can
    gather rows from it directly (the fastest random access there is).
    """
    offset = dataset.id.get_offset()
    if dataset.chunks is not None or offset is None or dataset.dtype != np.uint8 or dataset.size == 0:
        return None
    # a plain ndarray view: gathers skip np.memmap's per-slice subclass bookkeeping
    return np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=dataset.shape).view(np.ndarray)


def _metadata(handle: h5py.File, row: int, source: int) -> dict[str, str | int]:
    """Content path, painting and WNID of one row; ``k``: the sample's number among its image's
    styles (0 with one style per image); ``source``: the number of its source (mixed readers)."""
    found: dict[str, str | int] = {name: handle[name][row].decode("utf-8") for name in ("content", "style", "wnid")}
    found["k"] = int(handle["k"][row]) if "k" in handle else 0
    found["source"] = source
    return found


class _Files:
    """This process's open h5py handles, labels and memory maps; re-opened after a fork."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.handles: dict[Path, h5py.File] = {}
        self.labels: dict[Path, np.ndarray] = {}
        self.maps: dict[Path, np.ndarray | None] = {}

    def get(self, path: Path) -> h5py.File:
        if self.pid != os.getpid():  # forked: never use the parent's handles
            self.pid, self.handles, self.labels, self.maps = os.getpid(), {}, {}, {}
        handle = self.handles.get(path)
        if handle is None:
            try:
                handle = self.handles[path] = h5py.File(path, "r")
                self.labels[path] = handle["labels"][()]
                self.maps[path] = _memory_map(path, handle["images"])
            except (OSError, KeyError) as error:
                raise OSError(f"cannot open shard {path}: {error}") from None
        return handle

    def close(self) -> None:
        if self.pid == os.getpid():
            for handle in self.handles.values():
                handle.close()
        self.handles, self.labels, self.maps = {}, {}, {}


def _sample(
    handle: h5py.File, codec: str, rows: Sequence[int], path: Path, mapped: np.ndarray | None = None
) -> list[np.ndarray] | np.ndarray:
    """Images (``uint8 (H, W, 3)`` each) of ``rows`` (sorted) of one open shard.

    From the memory map when there is one (one gather); else one read per row: h5py's
    simple-index fast path is ~100x faster than a fancy-index (point selection) read of the same
    rows (see docs/benchmarks.md).
    """
    if mapped is not None:
        return mapped[list(rows)]
    try:
        dataset = handle["images"]
        images = [dataset[row] for row in rows]
    except (OSError, KeyError, ValueError) as error:
        raise OSError(f"cannot read rows of shard {path}: {error}") from None
    if codec != "raw":
        try:
            images = [decode_image(data) for data in images]
        except Exception as error:  # noqa: BLE001
            raise OSError(f"undecodable image in shard {path}: {error}") from None
    return images


class ShardDataset(Dataset):
    """Map-style dataset over every image of a set of shards.

    Args:
        root_or_paths: an output folder, a folder of shards, one shard, or a list of shard files;
            or several such sources mixed, ``{source: weight}`` (:func:`open_sources`: each
            sample of a source read ``weight`` times per epoch).
        transform: applied to the ``uint8 (3, H, W)`` tensor (torchvision v2 transforms work).
        split: keep only the shards of this split (``train``, ``val``).
        metadata: also return ``{"content", "style", "wnid", "k", "source"}`` per sample.
        allow_mixed: read shards of different datasets or image sizes together as one source
            (refused by default: :class:`MixedShardsError` names them).

    Items are ``(image, label)`` (or ``(image, label, metadata)``), ``label`` an ``int``.
    ``DataLoader`` fetches whole batches through :meth:`__getitems__`: one read per shard.

    Example:
        >>> loader = DataLoader(ShardDataset("results/demo", split="train"), batch_size=256,
        ...                     shuffle=True, num_workers=2)          # doctest: +SKIP
        >>> both = ShardDataset({"results/sin": 1, "results/in": 1}, split="train")  # doctest: +SKIP
    """

    def __init__(
        self,
        root_or_paths: Sources,
        transform: Callable[[torch.Tensor], Any] | None = None,
        split: str | None = None,
        metadata: bool = False,
        allow_mixed: bool = False,
    ) -> None:
        self.infos, self.sources = open_sources(root_or_paths, split, allow_mixed)
        self.offsets = np.cumsum([0] + [info.count for info in self.infos]).tolist()
        self.transform = transform
        self.metadata = metadata
        self._files = _Files()

    def __len__(self) -> int:
        return self.offsets[-1]

    def locate(self, index: int) -> tuple[int, int]:
        """Global index -> (shard number, row)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        shard = bisect.bisect_right(self.offsets, index) - 1
        return shard, index - self.offsets[shard]

    def __getitems__(self, indices: Sequence[int]) -> list:
        """The items of ``indices`` (a batch): each shard's rows read in one go. Fixed-size images of
        memory-mapped shards are gathered straight into one ``uint8 (n, 3, H, W)`` block (the
        items are views of it), so a batch over many shards costs about what one shard's does."""
        wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= len(self)):
            bad = next(int(i) for i in wanted if not 0 <= i < len(self))
            raise IndexError(f"index {bad} out of range for {len(self)} images")
        offsets = np.asarray(self.offsets, dtype=np.int64)
        shards = np.searchsorted(offsets, wanted, side="right") - 1
        rows = wanted - offsets[shards]
        order = np.argsort(shards, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(shards[order])) + 1) if order.size else []
        opened = []  # (shard, its rows' positions in the batch, its rows, path, memory map)
        for positions in groups:  # open each shard (this process's handles, labels and maps)
            shard = int(shards[positions[0]])
            path = self.infos[shard].path
            self._files.get(path)
            opened.append((shard, positions, rows[positions], path, self._files.maps[path]))
        block = None
        if opened and all(o[4] is not None for o in opened) and len({o[4].shape[1:] for o in opened}) == 1:
            height, width, _ = opened[0][4].shape[1:]
            block = np.empty((len(wanted), 3, height, width), dtype=np.uint8)
        images: list = [None] * len(wanted)
        labels = np.empty(len(wanted), dtype=np.int64)
        for shard, positions, shard_rows, path, mapped in opened:
            labels[positions] = self._files.labels[path][shard_rows]
            if block is not None:  # NHWC rows -> NCHW in place: one strided copy (numpy's is ~2x torch's)
                block[positions] = mapped[shard_rows].transpose(0, 3, 1, 2)
                continue
            unique = sorted(set(shard_rows.tolist()))
            found = _sample(self._files.handles[path], self.infos[shard].codec, unique, path, mapped)
            at = {row: i for i, row in enumerate(unique)}
            for position, row in zip(positions, shard_rows.tolist()):
                images[position] = _to_tensor(found[at[row]])
        if block is not None:
            images = list(torch.from_numpy(block))
        out = []
        for position, image in enumerate(images):
            if self.transform is not None:
                image = self.transform(image)
            item = (image, int(labels[position]))
            if self.metadata:
                shard = int(shards[position])
                item += (
                    _metadata(self._files.handles[self.infos[shard].path], int(rows[position]), self.sources[shard]),
                )
            out.append(item)
        return out

    def __getitem__(self, index: int):
        return self.__getitems__([index])[0]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_files"] = _Files()  # never pickle open handles (spawned workers)
        return state

    def __del__(self) -> None:
        files = self.__dict__.get("_files")
        if files is not None:
            files.close()


def _slot() -> tuple[int, int]:
    """(this worker's number, number of workers) of the current DataLoader process."""
    info = get_worker_info()
    return (0, 1) if info is None else (info.id, info.num_workers)


def _rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "WORLD_SIZE > 1 but torch.distributed is not initialized and no rank/world_size was given: "
            "every rank would read every sample (duplicates). Pass rank= and world_size=."
        )
    return 0, 1


class ShardStream(IterableDataset):
    """Streaming dataset: shards in a seeded shuffled order, samples through a shuffle buffer.

    Each epoch, the shards are put in a seeded order and their samples form one sequence that is
    cut into equal contiguous parts, one per rank, exactly as ``DistributedSampler`` cuts indices:
    every rank yields **the same number of samples** (else DDP training hangs at the end of an
    epoch), ``len(self)`` of them. By default the sequence is padded by repeating its first
    samples (at most ``world_size - 1`` repeats: every sample is read at least once); with
    ``drop_last=True`` its tail (fewer than ``world_size`` samples) is dropped instead. A rank's
    part is cut again into one contiguous piece per DataLoader worker, so reads stay sequential
    within shards. Call :meth:`set_epoch` each epoch: it reaches persistent workers too (a value in
    shared memory).

    Args:
        root_or_paths, transform, split, metadata, allow_mixed: as :class:`ShardDataset` (several
            sources mixed: ``{source: weight}``; their shards are shuffled together).
        shuffle_buffer: samples held for shuffling (0: shard order, rows in order).
        seed: seed of the shard order and the buffer.
        rank, world_size: this process's place in distributed training (default: from
            ``torch.distributed`` when initialized, else a single process).
        drop_last: equal the ranks by dropping the tail instead of repeating the head.

    Raises:
        ValueError: fewer samples per rank than workers (a worker would get no data), or a
            distributed run that would duplicate samples.
    """

    def __init__(
        self,
        root_or_paths: Sources,
        transform: Callable[[torch.Tensor], Any] | None = None,
        split: str | None = None,
        metadata: bool = False,
        shuffle_buffer: int = 1000,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        allow_mixed: bool = False,
        drop_last: bool = False,
    ) -> None:
        import multiprocessing

        self.infos, self.sources = open_sources(root_or_paths, split, allow_mixed)
        self.transform = transform
        self.metadata = metadata
        self.shuffle_buffer = shuffle_buffer
        self.seed = seed
        self.rank, self.world_size = _rank(rank, world_size)
        self.drop_last = drop_last
        # shared memory: persistent DataLoader workers (forked or spawned) see set_epoch
        self._epoch = multiprocessing.RawValue("q", 0)

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        self._epoch.value = int(epoch)

    def total(self) -> int:
        """Distinct samples of all ranks together."""
        return sum(info.count for info in self.infos)

    def __len__(self) -> int:
        """Samples this rank yields per epoch: the same on every rank and in every epoch."""
        total = self.total()
        return total // self.world_size if self.drop_last else -(-total // self.world_size)

    def _segments(self, first: int, end: int) -> list[tuple[int, int, int]]:
        """``(shard number, first row, end row)`` covering positions ``[first, end)`` of this epoch's
        sequence (positions past the end wrap around to its start)."""
        order = list(range(len(self.infos)))
        random.Random(self.seed * 1_000_003 + self.epoch).shuffle(order)
        total, segments, position = self.total(), [], first
        while position < end and total:
            offset = position % total
            for i in order:
                count = self.infos[i].count
                if offset < count:
                    rows = min(count - offset, end - position)
                    segments.append((i, offset, offset + rows))
                    position += rows
                    break
                offset -= count
        return segments

    def my_shards(self, worker: int, workers: int) -> list[tuple[ShardInfo, int, int]]:
        """The ``(shard, first row, end row)`` pieces this (rank, worker) reads in this epoch."""
        return [(self.infos[i], first, end) for i, first, end in self._my_segments(worker, workers)]

    def _my_segments(self, worker: int, workers: int) -> list[tuple[int, int, int]]:
        per_rank = len(self)
        if per_rank < workers or per_rank == 0:
            raise ValueError(
                f"{self.total()} samples in {len(self.infos)} shards for {self.world_size} rank(s) x {workers} "
                "worker(s): some would read nothing; use fewer workers"
            )
        start = self.rank * per_rank
        first = start + per_rank * worker // workers
        end = start + per_rank * (worker + 1) // workers
        return self._segments(first, end)

    def __iter__(self) -> Iterator:
        worker, workers = _slot()
        rng = random.Random(f"{self.seed}-{self.epoch}-{self.rank}-{worker}")
        buffer: list = []
        for number, first, end in self._my_segments(worker, workers):
            info = self.infos[number]
            with h5py.File(info.path, "r") as handle:
                labels = handle["labels"][()]
                for start in range(first, end, 256):
                    rows = list(range(start, min(start + 256, end)))
                    images = _sample(handle, info.codec, rows, info.path)
                    for row, pixels in zip(rows, images):
                        image = _to_tensor(pixels)
                        if self.transform is not None:
                            image = self.transform(image)
                        item = (image, int(labels[row]))
                        if self.metadata:
                            item += (_metadata(handle, row, self.sources[number]),)
                        if self.shuffle_buffer <= 0:
                            yield item
                            continue
                        buffer.append(item)
                        if len(buffer) >= self.shuffle_buffer:
                            yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer

"""Reading rows of open shards: this process's file handles and memory maps, images as tensors, the
rows' metadata, and a ``collate_fn`` for images of different sizes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch

from ..shards.format import decode_image

__all__ = ["OpenShards", "read_rows", "to_tensor", "memory_map", "row_metadata", "collate_variable_size"]


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


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """``uint8 (H, W, 3)`` -> contiguous ``uint8 (3, H, W)`` (so batching is one memcpy)."""
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def memory_map(path: Path, dataset: h5py.Dataset) -> np.ndarray | None:
    """A read-only memory map of a contiguous, uncompressed uint8 dataset (else ``None``).

    HDF5 stores such a dataset as one block of raw bytes at a fixed file offset, so numpy can
    gather rows from it directly (the fastest random access there is).
    """
    offset = dataset.id.get_offset()
    if dataset.chunks is not None or offset is None or dataset.dtype != np.uint8 or dataset.size == 0:
        return None
    # a plain ndarray view: gathers skip np.memmap's per-slice subclass bookkeeping
    return np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=dataset.shape).view(np.ndarray)


def row_metadata(handle: h5py.File, row: int, source: int) -> dict[str, str | int]:
    """Content path, painting and WNID of one row; ``k``: the sample's number among its image's
    styles (0 with one style per image); ``source``: the number of its source (mixed readers)."""
    found: dict[str, str | int] = {name: handle[name][row].decode("utf-8") for name in ("content", "style", "wnid")}
    found["k"] = int(handle["k"][row]) if "k" in handle else 0
    found["source"] = source
    return found


class OpenShards:
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
                self.maps[path] = memory_map(path, handle["images"])
            except (OSError, KeyError) as error:
                raise OSError(f"cannot open shard {path}: {error}") from None
        return handle

    def close(self) -> None:
        if self.pid == os.getpid():
            for handle in self.handles.values():
                handle.close()
        self.handles, self.labels, self.maps = {}, {}, {}


def read_rows(
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

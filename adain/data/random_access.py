"""The map-style reader: any image of a set of shards by its index, batches gathered per shard."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .reading import OpenShards, read_rows, row_metadata, to_tensor
from .sources import Sources, open_sources

__all__ = ["ShardDataset"]


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
        self._files = OpenShards()

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
            found = read_rows(self._files.handles[path], self.infos[shard].codec, unique, path, mapped)
            at = {row: i for i, row in enumerate(unique)}
            for position, row in zip(positions, shard_rows.tolist()):
                images[position] = to_tensor(found[at[row]])
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
                    row_metadata(self._files.handles[self.infos[shard].path], int(rows[position]), self.sources[shard]),
                )
            out.append(item)
        return out

    def __getitem__(self, index: int):
        return self.__getitems__([index])[0]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_files"] = OpenShards()  # never pickle open handles (spawned workers)
        return state

    def __del__(self) -> None:
        files = self.__dict__.get("_files")
        if files is not None:
            try:
                files.close()
            except Exception:  # noqa: BLE001 - at interpreter exit h5py may be torn down already
                pass

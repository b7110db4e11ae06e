"""The streaming reader: each rank and DataLoader worker reads its own contiguous part of the shards,
shuffled per epoch, one open shard at a time."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from typing import Any

import h5py
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .reading import read_rows, row_metadata, to_tensor
from .sources import ShardInfo, Sources, open_sources

__all__ = ["ShardStream"]


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
                    images = read_rows(handle, info.codec, rows, info.path)
                    for row, pixels in zip(rows, images):
                        image = to_tensor(pixels)
                        if self.transform is not None:
                            image = self.transform(image)
                        item = (image, int(labels[row]))
                        if self.metadata:
                            item += (row_metadata(handle, row, self.sources[number]),)
                        if self.shuffle_buffer <= 0:
                            yield item
                            continue
                        buffer.append(item)
                        if len(buffer) >= self.shuffle_buffer:
                            yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer

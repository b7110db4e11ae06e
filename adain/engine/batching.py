"""How the pipeline groups its work: (image, painting) items gathered into same-size batches
(:class:`SizeBuckets`, no padding: padding would change the pixels), the batches in flight on the
device with the events between them (:class:`InFlight`), and the events the caller receives
(:class:`Stylized`, :class:`Rejected`, :class:`Flushed`)."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .images import EncodedJpeg

__all__ = [
    "PaintingPixels",
    "Stylized",
    "StylizedRun",
    "Rejected",
    "Flushed",
    "SizeBuckets",
    "InFlight",
    "Lease",
    "stack_rows",
]


@dataclass
class PaintingPixels:
    """A batch's paintings as pixels, for colour preservation (each painting is given its
    content's colours, then encoded): ``uint8 (B, 3, h, w)``, or a list of ``(3, h_i, w_i)``
    when their sizes differ. Indexed like a tensor of per-sample statistics."""

    images: torch.Tensor | list

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, rows) -> PaintingPixels:
        if isinstance(self.images, torch.Tensor) or isinstance(rows, slice):
            return PaintingPixels(self.images[rows])
        return PaintingPixels([self.images[int(i)] for i in rows])

    @classmethod
    def of(cls, paintings: list[torch.Tensor]) -> PaintingPixels:
        """One tensor when every painting has the same size, else the list."""
        same = len({tuple(p.shape) for p in paintings}) == 1
        return cls(torch.stack(paintings) if same else list(paintings))


@dataclass
class Stylized:
    """One output: content ``index``, ``painting`` number, ``image`` ``uint8 (H, W, 3)``."""

    index: int
    painting: int
    image: np.ndarray


@dataclass
class StylizedRun:
    """Outputs of one batch together (``batched=True``): content ``indices`` and ``paintings``
    ``(n,)``, ``images`` ``uint8 (n, H, W, 3)`` in one block (on CUDA a page-locked buffer, kept
    alive by this array until it is dropped)."""

    indices: list[int]
    paintings: list[int]
    images: np.ndarray


@dataclass
class Rejected:
    """A content image that could not be used, and why."""

    index: int
    reason: str


@dataclass
class Flushed:
    """Nothing is pending: every output of the first ``consumed`` items has been yielded.

    The batching state is then empty, so restarting at item ``consumed`` reproduces exactly the
    batches (and so the pixels) that an uninterrupted run forms from there: a safe checkpoint.
    """

    consumed: int


class SizeBuckets:
    """Pending work grouped by image size; hands out batches of one size."""

    def __init__(self, batch_size: int, max_pending: int) -> None:
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.groups: OrderedDict[tuple[int, int], list] = OrderedDict()
        self.pending = 0

    def add(self, size: tuple[int, int], item) -> list | None:
        group = self.groups.setdefault(size, [])
        group.append(item)
        self.pending += 1
        if len(group) >= self.batch_size:
            return self._pop(size)
        if self.pending > self.max_pending:  # many odd sizes: release the fullest group
            return self._pop(max(self.groups, key=lambda k: len(self.groups[k])))
        return None

    def _pop(self, size: tuple[int, int]) -> list:
        group = self.groups.pop(size)
        self.pending -= len(group)
        return group

    def drain(self) -> Iterator[list]:
        while self.groups:
            yield self._pop(next(iter(self.groups)))


class Lease:
    """Counts what still reads a decoded batch's memory (the batch being distributed, each of its
    samples waiting in a bucket or computing); when the last one ends, ``release`` gives the memory
    back (:attr:`adain.engine.image_dataset.ImageBatch.release`)."""

    def __init__(self, release) -> None:
        self.release, self.count = release, 1

    def hold(self) -> Lease:
        self.count += 1
        return self

    def drop(self) -> None:
        self.count -= 1
        if self.count == 0 and self.release is not None:
            self.release()


class InFlight:
    """Batches on the device and the events between them, handed out in submission order: each
    output as a :class:`Stylized`, or (``batched``) each piece of a batch as one :class:`StylizedRun`."""

    def __init__(self, batched: bool = False) -> None:
        self.queue: deque = deque()  # (samples, Future, leases) per batch, Rejected, Flushed
        self.batches = 0
        self.batched = batched

    def add_batch(self, samples: list[tuple[int, int]], future, leases: list[Lease] = ()) -> None:
        """``leases``: one per sample whose input memory the batch reads; dropped once its result is in."""
        self.queue.append((samples, future, leases))
        self.batches += 1

    def add_events(self, events) -> None:
        self.queue.extend(events)

    def settle(self, limit: int) -> Iterator[Stylized | Rejected | Flushed]:
        """Yield finished work until at most ``limit`` batches are in flight (events that come
        before a batch still computing wait for it)."""
        while self.queue and (self.batches > limit or not isinstance(self.queue[0], tuple)):
            entry = self.queue.popleft()
            if not isinstance(entry, tuple):
                yield entry
                continue
            self.batches -= 1
            samples, future, leases = entry
            pieces = future.result()
            for lease in leases:  # the device has read the inputs
                lease.drop()
            for offset, piece in pieces:
                if isinstance(piece, str):
                    yield Rejected(samples[offset][0], piece)
                    continue
                pixels = piece.numpy()  # holds the buffer (page-locked on CUDA) as long as it lives
                if self.batched:
                    chosen = samples[offset : offset + len(pixels)]
                    yield StylizedRun([i for i, _ in chosen], [p for _, p in chosen], pixels)
                    continue
                for (index, painting), image in zip(samples[offset:], pixels):
                    yield Stylized(index, painting, image)


def stack_rows(rows: list[tuple]) -> torch.Tensor | list[EncodedJpeg]:
    """``(images, row)`` pairs -> ``uint8 (B, 3, H, W)``; a whole collated tensor in order is used
    as it is (no copy: it may be pinned). Encoded JPEGs stay a list."""
    first = rows[0][0]
    if isinstance(first, list):
        return [images[row] for images, row in rows]
    if len(rows) == first.shape[0] and all(images is first and row == i for i, (images, row) in enumerate(rows)):
        return first
    return torch.stack([images[row] for images, row in rows])

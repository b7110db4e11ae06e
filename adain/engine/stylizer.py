"""Batched AdaIN inference: painting statistics once, contents in same-size batches.

The data's way is a three-stage pipeline with bounded queues, so that the device never waits:

1. **in**: DataLoader workers decode and preprocess runs of consecutive images and collate them
   into ``uint8 (n, 3, H, W)`` tensors, one per image size (:class:`ImageBatch`); on CUDA they are
   pinned in the main process. Batches are grouped by size (no padding: padding would change the
   pixels).
2. **compute**: the model runs on the device, off the caller's thread (:class:`DeviceQueue`: a
   CUDA side stream fed from pinned memory, or one compute thread on the CPU); outputs are
   quantized on the device exactly as ``torchvision.utils.save_image`` does and copied back
   asynchronously (into pinned buffers on CUDA). A batch is cut up front into pieces that fit a
   share of the device's memory (:func:`adain.core.memory.batch_limit`); out of memory, the
   exception, splits a piece further, then rejects the single image that does not fit.
3. **out**: the caller receives finished batches in order while the next ones compute; encoding
   and writing belong to it (:func:`adain.stages.stylize_shard.stylize_shard` does both off this thread).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.functional import calc_mean_std, match_color
from ..core.memory import batch_limit
from ..core.model import AdaIN
from .batching import (
    Flushed,
    InFlight,
    Lease,
    PaintingPixels,
    Rejected,
    SizeBuckets,
    Stylized,
    StylizedRun,
    stack_rows,
)
from .cache import StatsCache
from .device import DeviceQueue, exact_numerics, quantize, resolve_device, resolve_dtype, use_device
from .image_dataset import ImageDataset, iterate_batches, iterate_images, size_key
from .images import (
    DEFAULT_MAX_PIXELS,
    EncodedJpeg,
    Preprocess,
    decode_jpegs,
)

__all__ = ["Stylized", "StylizedRun", "Rejected", "Flushed", "PaintingPixels", "Stylizer"]

log = logging.getLogger(__name__)


class Stylizer:
    """Batched AdaIN (or another image operation) on one device.

    Args:
        model: an :class:`adain.core.model.AdaIN` (weights loaded); ``None`` with ``op``.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.
        dtype: ``float32`` (default) or, on CUDA, ``bfloat16`` / ``float16`` autocast.
        batch_size: contents per forward pass.
        op: instead of AdaIN, a float ``(B, 3, H, W) -> (B, 3, H, W)`` operation in [0, 1] (the
            texture-suppression filters of :mod:`adain.core.filters`); painting statistics are ignored.
        channels_last: the model's convolutions in channels-last memory format (faster on CUDA and,
            measured, on this CPU; the texture filters keep the default layout).
        compile: ``torch.compile`` the model (the first batch of each new size compiles).
        memory_budget: bytes of device memory a batch may take (:func:`adain.core.memory.batch_limit`
            cuts larger batches up front); default on CUDA half the device's total memory (its
            total, not what is free now, so that the same GPU model always forms the same
            batches), on the CPU no limit.
    """

    #: Share of a CUDA device's total memory that one batch may take.
    CUDA_MEMORY_SHARE = 0.5

    def __init__(
        self,
        model: AdaIN | None,
        device: str = "auto",
        dtype: str = "float32",
        batch_size: int = 16,
        op: Callable[[torch.Tensor], torch.Tensor] | None = None,
        channels_last: bool = True,
        compile: bool = False,
        memory_budget: float | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if (model is None) == (op is None):
            raise ValueError("give either a model or an op")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        use_device(self.device)
        if memory_budget is None and self.device.type == "cuda":
            memory_budget = self.CUDA_MEMORY_SHARE * torch.cuda.get_device_properties(self.device).total_memory
        self.memory_budget = memory_budget
        self._decode_stream: torch.cuda.Stream | None = None  # decode: device on CUDA (_decode_on_device)
        self.batch_size = batch_size
        self.op = op
        self.model = model
        self.channels_last = bool(channels_last) and model is not None
        self.compiled = bool(compile)
        self._forward = op
        if model is not None:
            self.model = model.to(self.device).eval().requires_grad_(False)
            if self.channels_last:
                self.model = self.model.to(memory_format=torch.channels_last)
            self._forward = torch.compile(self.model) if compile else self.model

    def _to_input(self, images: torch.Tensor) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` -> float in [0, 1] on the device (as ``ToTensor``)."""
        images = images.to(self.device, non_blocking=True).float().div(255)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _autocast(self):
        enabled = self.dtype != torch.float32
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=enabled)

    @torch.inference_mode()
    def encode_stats(self, images: torch.Tensor) -> torch.Tensor:
        """Painting statistics: ``uint8 (B, 3, H, W)`` -> ``(B, 2, 512)`` float32 on the CPU
        (``[:, 0]`` mean, ``[:, 1]`` std of relu4_1). Always computed in float32."""
        with exact_numerics(self.device):
            mean, std = calc_mean_std(self.model.encode(self._to_input(images)).float())
        return torch.stack([mean.flatten(1), std.flatten(1)], dim=1).cpu()

    @torch.inference_mode()
    def color_preserving_stats(self, content: torch.Tensor, paintings: PaintingPixels) -> torch.Tensor:
        """pytorch-AdaIN's ``preserve_color``: each painting given its content's colours
        (:func:`adain.core.functional.match_color`), then encoded. ``uint8 (B, 3, H, W)`` contents and
        their paintings -> ``(B, 2, 512)`` float32 statistics on the device (float32, as
        :meth:`encode_stats`)."""
        images = paintings.images
        groups = [images] if isinstance(images, torch.Tensor) else [image[None] for image in images]
        contents, stats, start = self._to_input(content).float(), [], 0
        for group in groups:  # one batch, or one painting at a time when their sizes differ
            matched = match_color(self._to_input(group).float(), contents[start : start + len(group)])
            if self.channels_last:
                matched = matched.contiguous(memory_format=torch.channels_last)
            mean, std = calc_mean_std(self.model.encode(matched).float())
            stats.append(torch.stack([mean.flatten(1), std.flatten(1)], dim=1))
            start += len(group)
        return torch.cat(stats)

    @torch.inference_mode()
    def stylize_float(
        self, content: torch.Tensor, stats: torch.Tensor | PaintingPixels, alpha: float = 1.0
    ) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` contents with per-sample ``(B, 2, 512)`` painting statistics (or
        the paintings' pixels, :class:`PaintingPixels`: colour preservation) -> float
        ``(B, 3, H, W)`` on the device, not clamped."""
        with exact_numerics(self.device):
            if isinstance(stats, PaintingPixels) and self.op is None:
                stats = self.color_preserving_stats(content, stats)
            with self._autocast():
                if self.op is not None:
                    return self.op(self._to_input(content)).float()
                stats = stats.to(self.device, non_blocking=True)
                out = self._forward(self._to_input(content), stats[:, 0], stats[:, 1], alpha)
            return out.float()

    def stylize(self, content: torch.Tensor, stats: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """As :meth:`stylize_float`, quantized: ``uint8 (B, 3, H, W)`` on the CPU."""
        return quantize(self.stylize_float(content, stats, alpha)).cpu()

    def painting_stats(
        self,
        paths: Sequence[str | Path],
        preprocess: Preprocess,
        cache: StatsCache,
        workers: int = 0,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[dict[int, np.ndarray], dict[int, str]]:
        """Statistics of each painting, from the cache or computed in size-grouped batches.

        Returns:
            ``(stats, rejected)``: position in ``paths`` -> ``(2, 512)`` float32 array, and
            position -> reason for paintings that cannot be read.
        """
        stats: dict[int, np.ndarray] = {}
        missing = []
        for i, path in enumerate(paths):
            cached = cache.get(path)
            if cached is None:
                missing.append(i)
            else:
                stats[i] = cached
                if progress:
                    progress(1)
        rejected: dict[int, str] = {}
        dataset = ImageDataset([paths[i] for i in missing], preprocess, max_pixels)
        buckets = SizeBuckets(self.batch_size, max_pending=4 * self.batch_size)

        def run(group: list[tuple[int, torch.Tensor]]) -> None:
            values = self.encode_stats(torch.stack([image for _, image in group])).numpy()
            for (position, _), value in zip(group, values):
                stats[position] = value
                cache.put(paths[position], value)
            if progress:
                progress(len(group))

        for j, image, reason in iterate_images(dataset, workers):
            position = missing[j]
            if image is None:
                rejected[position] = reason
                if progress:
                    progress(1)
                continue
            batch = buckets.add(tuple(image.shape[-2:]), (position, image))
            if batch:
                run(batch)
        for batch in buckets.drain():
            run(batch)
        return stats, rejected

    def device_queue(self) -> DeviceQueue:
        """Where :meth:`stylize_dataset` runs its batches (one per call)."""
        return DeviceQueue(self.device)

    def _to_host(self, pixels: torch.Tensor) -> torch.Tensor:
        """Device ``uint8`` -> host: on CUDA an asynchronous copy into a pinned buffer."""
        if self.device.type != "cuda":
            return pixels.contiguous()
        host = torch.empty(pixels.shape, dtype=torch.uint8, pin_memory=True)
        return host.copy_(pixels, non_blocking=True)

    def batch_limit(self, height: int, width: int) -> int:
        """How many ``height x width`` contents one forward pass takes at most: ``batch_size``, or
        fewer where they would not fit :attr:`memory_budget` (a function of the shape and the
        device alone, so a resumed job forms the same pieces)."""
        if self.memory_budget is None:
            return self.batch_size
        element = 4 if self.dtype == torch.float32 else 2
        return min(self.batch_size, batch_limit(height, width, element, self.memory_budget))

    @torch.inference_mode()
    def compute_batch(
        self,
        content: torch.Tensor,
        stats: torch.Tensor,
        alpha: float = 1.0,
        finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
        offset: int = 0,
    ) -> list[tuple[int, torch.Tensor | str]]:
        """Stylize, finish and quantize one batch on the device, in pieces of at most
        :meth:`batch_limit` images; out of memory splits a piece in halves, down to single
        images, and an image that does not fit alone is rejected with a reason.

        Each retry runs after the failed attempt's exception has been left (its traceback holds
        the failed forward's activations, which nothing could free while it is handled) and the
        device's cache emptied.

        Args:
            content: ``uint8 (B, 3, H, W)``; stats: ``(B, 2, 512)`` painting statistics.

        Returns:
            Pieces in order: ``(offset, pixels)`` with host ``uint8 (n, h, w, 3)`` for samples
            ``offset .. offset + n``, or ``(offset, reason)`` for one sample that did not fit.
        """
        height, width = content.shape[-2:]
        step = self.batch_limit(int(height), int(width))
        todo = [(start, min(start + step, len(content))) for start in range(0, len(content), step)]
        pieces: list[tuple[int, torch.Tensor | str]] = []
        while todo:
            start, stop = todo.pop(0)
            pixels = self._attempt(content[start:stop], stats[start:stop], alpha, finish)
            if pixels is not None:
                pieces.append((offset + start, pixels))
                continue
            self._release_cached_memory()  # outside the except: the failed pass is gone now
            if stop - start == 1:
                dtype = str(self.dtype).removeprefix("torch.")
                pieces.append(
                    (offset + start, f"out of memory on {self.device} for one {width}x{height} image (dtype {dtype})")
                )
                continue
            log.warning(
                "out of memory on %s for %d images of %dx%d: splitting the batch",
                self.device,
                stop - start,
                width,
                height,
            )
            half = start + (stop - start) // 2
            todo[:0] = [(start, half), (half, stop)]
        return pieces

    def _attempt(
        self,
        content: torch.Tensor,
        stats: torch.Tensor,
        alpha: float,
        finish: Callable[[torch.Tensor], torch.Tensor] | None,
    ) -> torch.Tensor | None:
        """One forward pass of a piece: host ``uint8 (n, h, w, 3)``, or ``None`` when the device
        ran out of memory (the exception is left here, with its traceback)."""
        try:
            out = self.stylize_float(content, stats, alpha)
            if finish is not None:
                out = finish(out)
            return self._to_host(quantize(out).permute(0, 2, 3, 1))
        except torch.OutOfMemoryError:
            pass
        return None

    def _release_cached_memory(self) -> None:
        """After an out-of-memory error has been left: give the cached blocks back so that the
        halves can allocate (must not run while the exception is handled)."""
        if sys.exc_info()[0] is not None:  # a guard for future edits
            raise RuntimeError("out-of-memory retry while the exception is still being handled")
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def compute_encoded(
        self,
        jpegs: list[EncodedJpeg],
        recipe: Preprocess,
        stats: torch.Tensor,
        alpha: float = 1.0,
        finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> list[tuple[int, torch.Tensor | str]]:
        """:meth:`compute_batch` of JPEG bytes: decoded on the device (nvJPEG on CUDA), the
        ``resize-crop`` recipe applied there. A file the device's decoder refuses (nvJPEG lacks
        e.g. arithmetic coding) is decoded on the host instead, and rejected with a reason only if
        that fails too; a fault of the device itself (out of memory, a CUDA error) is raised,
        never turned into rejects."""
        data = [j.data for j in jpegs]
        images = self._decode_or_none(data)
        if images is None:  # one by one, outside the handler, to find the file the decoder refuses
            images = [self._decode_one(jpeg) for jpeg in data]
        pieces = [(i, image) for i, image in enumerate(images) if isinstance(image, str)]
        kept = [i for i, image in enumerate(images) if not isinstance(image, str)]
        runs = np.split(np.asarray(kept, dtype=np.int64), np.where(np.diff(kept) > 1)[0] + 1) if kept else []
        for run in runs:  # consecutive samples: one run unless a file was rejected between
            content = torch.stack([recipe.apply_tensor(images[i]) for i in run])
            pieces += [
                (int(run[0]) + offset, piece)
                for offset, piece in self.compute_batch(content, stats[torch.from_numpy(run)], alpha, finish)
            ]
        return sorted(pieces, key=lambda item: item[0])

    def _decode_or_none(self, data: list[torch.Tensor]) -> list[torch.Tensor] | None:
        """The batch decoded on the device, or ``None`` when the decoder refused one of its files;
        a device fault is raised."""
        try:
            return self._decode_on_device(data)
        except RuntimeError as error:
            if self._is_device_fault(error):
                raise
        return None

    def _decode_one(self, jpeg: torch.Tensor) -> torch.Tensor | str:
        """One file: on the device, else on the host (moved to the device), else the reason."""
        decoded = self._decode_or_none([jpeg])
        if decoded is not None:
            return decoded[0]
        try:
            return decode_jpegs([jpeg], "cpu")[0].to(self.device)
        except RuntimeError as error:
            return "undecodable: " + str(error).splitlines()[0]

    def _decode_on_device(self, data: list[torch.Tensor]) -> list[torch.Tensor]:
        """JPEG bytes -> ``uint8 (3, H, W)`` on the device, safe to use on the current stream.

        torchvision's nvJPEG decoder allocates its outputs on the caller's current stream but
        writes them on an internal stream of its own, which does not wait for ours (it only makes
        ours wait for it afterwards; torchvision's ``decode_jpegs_cuda.cpp``). Allocated on our side
        stream, an output could take a block freed by the previous batch while that batch's kernels
        are still queued, and be written under them. So the decoder runs with a stream of its own
        as the current one, which never has work queued; the side stream waits for it, and each
        output is marked as used by the side stream (``record_stream``), so its block is not given
        out again before the side stream is done with it. No synchronisation of the host: batches
        keep overlapping.
        """
        if self.device.type != "cuda":
            return decode_jpegs(data, self.device)
        if self._decode_stream is None:
            self._decode_stream = torch.cuda.Stream(self.device)
        current = torch.cuda.current_stream(self.device)
        with torch.cuda.stream(self._decode_stream):
            images = decode_jpegs(data, self.device)
        current.wait_stream(self._decode_stream)
        for image in images:
            image.record_stream(current)
        return images

    def _is_device_fault(self, error: RuntimeError) -> bool:
        """Whether a decoder's error is the device's (out of memory; a CUDA error, after which the
        device no longer answers) rather than the file's."""
        if isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower():
            return True
        if self.device.type != "cuda":
            return False
        try:  # a sticky CUDA error fails every later call: ask the device
            torch.cuda.synchronize(self.device)
            torch.ones(1, device=self.device).add_(1).item()
        except Exception:  # noqa: BLE001 - whatever it is, the device is at fault
            return True
        return False

    def stylize_dataset(
        self,
        dataset: ImageDataset,
        paintings: Sequence[Sequence[int]],
        stats: dict[int, np.ndarray] | np.ndarray,
        alpha: float = 1.0,
        workers: int = 0,
        finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
        drain_every: int = 0,
        count_offset: int = 0,
        depth: int = 2,
        batched: bool = False,
    ) -> Iterator[Stylized | StylizedRun | Rejected | Flushed]:
        """Stylize every image of ``dataset`` with its paintings, overlapping decoding, compute
        and the caller's work (see the module's docstring).

        Args:
            dataset: the content images.
            paintings: for item ``i``, the painting numbers to apply (one output each).
            stats: painting number -> ``(2, 512)`` statistics; unused when ``dataset`` has
                ``styles`` (colour preservation: the paintings' pixels are used instead).
            alpha: stylization strength in [0, 1].
            workers: decoding processes; each decodes ``batch_size`` consecutive items at a time.
            finish: optional float ``(B, 3, H, W) -> (B, 3, h, w)`` step before quantization
                (e.g. downsampling for the 64x64 preset).
            drain_every: if > 0, run every pending batch whenever the items consumed, counted as
                ``count_offset + consumed``, pass a multiple of ``drain_every`` (runs of items are
                aligned the same way, so a resumed run that starts at ``count_offset`` forms the
                batches of an uninterrupted one).
            count_offset: see ``drain_every``.
            depth: batches computing or waiting to be read at once (the compute queue's bound).
            batched: yield each batch's outputs as one :class:`StylizedRun` (its pixels one block,
                no Python per image) instead of a :class:`Stylized` per output.

        Yields:
            :class:`Stylized` per (image, painting) (or :class:`StylizedRun` per batch),
            :class:`Rejected` per unusable image, in completion order (batches group equal sizes),
            and :class:`Flushed` whenever nothing is pending.
        """
        if len(paintings) != len(dataset):
            raise ValueError(f"{len(paintings)} painting lists for {len(dataset)} images")
        buckets = SizeBuckets(self.batch_size, max_pending=8 * self.batch_size)
        device = self.device_queue()
        flight = InFlight(batched)
        table = _stats_table(stats)  # painting numbers -> rows of one array: a batch's are one gather

        def submit(group: list[tuple[int, int, torch.Tensor, int, torch.Tensor | None, Lease]] | _Whole) -> None:
            if isinstance(group, _Whole):  # a decoded batch as it is: nothing per image
                style = torch.from_numpy(table[group.paintings])
                work = device.submit(self.compute_batch, group.images, style, alpha, finish)
                flight.add_batch(list(zip(group.indices, group.paintings)), work, [group.lease])
                return
            content = stack_rows([(images, row) for _, _, images, row, _, _ in group])
            if group[0][4] is not None:  # colour preservation: the paintings' pixels
                style = PaintingPixels.of([item[4] for item in group])
            else:
                numbers = [item[1] for item in group]
                style = torch.from_numpy(table[numbers] if table is not None else np.stack([stats[n] for n in numbers]))
            if isinstance(content, list):  # decode path "device": JPEG bytes, decoded by the device
                work = device.submit(self.compute_encoded, content, dataset.preprocess, style, alpha, finish)
            else:
                work = device.submit(self.compute_batch, content, style, alpha, finish)
            flight.add_batch([(item[0], item[1]) for item in group], work, [item[5] for item in group])

        try:
            pin = self.device.type == "cuda"
            for batch in iterate_batches(dataset, self.batch_size, workers, count_offset, pin_memory=pin):
                flight.add_events(Rejected(index, reason) for index, reason in batch.rejected)
                lease = Lease(batch.release)
                for group in _groups(batch, paintings, buckets, lease, table is not None):
                    submit(group)
                lease.drop()  # distributed: what still reads it holds the lease
                before, after = count_offset + batch.start, count_offset + batch.stop
                if drain_every and before // drain_every != after // drain_every:
                    for group in buckets.drain():
                        submit(group)
                if buckets.pending == 0:
                    flight.add_events([Flushed(batch.stop)])
                yield from flight.settle(depth)
            for group in buckets.drain():
                submit(group)
            if len(dataset):
                flight.add_events([Flushed(len(dataset))])
            yield from flight.settle(0)
        finally:
            device.close()


def _stats_table(stats: dict[int, np.ndarray] | np.ndarray) -> np.ndarray | None:
    """Painting statistics as one ``(P, 2, 512)`` array indexed by painting number, where the
    numbers are ``0 .. P - 1`` (else ``None``: looked up one by one)."""
    if isinstance(stats, np.ndarray):
        return stats
    if not stats or sorted(stats) != list(range(len(stats))):
        return None
    return np.stack([stats[i] for i in range(len(stats))])


@dataclass
class _Whole:
    """A decoded group that is a batch as it is: ``images`` ``uint8 (B, 3, H, W)`` of contents
    ``indices``, one painting number each, reading ``lease``'s memory."""

    indices: list[int]
    paintings: list[int]
    images: torch.Tensor
    lease: Lease


def _groups(
    batch, paintings: Sequence[Sequence[int]], buckets: SizeBuckets, lease: Lease, by_number: bool = False
) -> Iterator[list | _Whole]:
    """Each (image, painting) of a decoded batch into its size's bucket, holding the batch's
    ``lease`` until its result is in; yields the full buckets. A group of exactly a batch of
    images with one painting each (statistics looked up by number, ``by_number``), with nothing
    of its size waiting, goes as it is (:class:`_Whole`): the common case, without Python per image."""
    for indices, images in batch.groups:
        size = size_key(images)
        if (
            by_number
            and isinstance(images, torch.Tensor)
            and len(indices) == buckets.batch_size
            and not batch.paintings
            and size not in buckets.groups
            and all(len(paintings[i]) == 1 for i in indices)
        ):
            yield _Whole(indices, [paintings[i][0] for i in indices], images, lease.hold())
            continue
        for row, index in enumerate(indices):
            pixels = batch.paintings.get(index)
            for j, painting in enumerate(paintings[index]):
                item = (index, painting, images, row, None if pixels is None else pixels[j], lease.hold())
                group = buckets.add(size, item)
                if group:
                    yield group

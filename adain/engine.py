"""Batched AdaIN inference: painting statistics once, contents in same-size batches.

The data's way: DataLoader workers decode and preprocess images into ``uint8 (3, H, W)`` tensors;
the main loop groups them by size into batches (no padding: padding would change the pixels);
the model runs on the chosen device; outputs are cropped to the input size and quantized exactly
as ``torchvision.utils.save_image`` does.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .cache import StatsCache
from .functional import calc_mean_std
from .images import (
    DEFAULT_MAX_PIXELS, DEFAULT_MAX_PREPROCESSED_PIXELS, ImageRejected, Preprocess, check_min_side,
    check_preprocessed_size, open_rgb, to_uint8_tensor,
)
from .model import AdaIN

__all__ = [
    "disable_tf32",
    "resolve_device",
    "resolve_dtype",
    "ImageDataset",
    "Stylized",
    "Rejected",
    "Flushed",
    "Stylizer",
    "quantize",
]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA when available, else CPU) | ``cpu`` | ``cuda`` | ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} requested but CUDA is not available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) are visible")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return device


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def disable_tf32() -> None:
    """Run float32 convolutions and matrix products in IEEE float32 on CUDA (torch 2.14 leaves
    cuDNN convolutions in TF32, which would make "float32" inexact on Ampere and later GPUs, and a
    resume on another GPU generation mix numerics)."""
    torch.backends.cudnn.conv.fp32_precision = "ieee"
    torch.backends.cuda.matmul.fp32_precision = "ieee"


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``float32`` (default, exact) | ``bfloat16`` | ``float16`` (CUDA only; autocast)."""
    if name not in _DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of {sorted(_DTYPES)}")
    if name != "float32" and device.type != "cuda":
        raise ValueError(f"dtype {name} is offered on CUDA only; use float32 on {device}")
    return _DTYPES[name]


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Float ``(B, 3, H, W)`` in [0, 1] -> ``uint8``, rounding as ``torchvision.utils.save_image``."""
    return images.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


class ImageDataset(Dataset):
    """Decode + preprocess images for DataLoader workers.

    Item ``i`` is ``(i, image, reason)``: ``image`` a ``uint8 (3, H, W)`` tensor, or ``None``
    with ``reason`` saying why the file was rejected.
    """

    def __init__(self, paths: Sequence[str | Path], preprocess: Preprocess, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_preprocessed_pixels: int = DEFAULT_MAX_PREPROCESSED_PIXELS):
        self.paths = list(paths)
        self.preprocess = preprocess
        self.max_pixels = max_pixels
        self.max_preprocessed_pixels = max_preprocessed_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            image = open_rgb(self.paths[index], self.max_pixels)
            check_preprocessed_size(image.size, self.preprocess, self.max_preprocessed_pixels)
            image = self.preprocess(image)
            check_min_side(image)
            return index, to_uint8_tensor(image), None
        except ImageRejected as error:
            return index, None, str(error)


def _as_list(batch: list) -> list:
    return batch


def iterate_images(dataset: ImageDataset, workers: int, prefetch: int = 4) -> Iterator[tuple[int, torch.Tensor | None, str | None]]:
    """Items of ``dataset`` in index order, decoded by ``workers`` processes (0: in this process)."""
    loader = DataLoader(
        dataset,
        batch_size=1,
        num_workers=workers,
        collate_fn=_as_list,
        prefetch_factor=prefetch if workers else None,
        persistent_workers=False,
    )
    for batch in loader:
        yield from batch


@dataclass
class Stylized:
    """One output: content ``index``, ``painting`` number, ``image`` ``uint8 (H, W, 3)``."""

    index: int
    painting: int
    image: np.ndarray


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


class _Buckets:
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


class Stylizer:
    """Batched AdaIN (or another image operation) on one device.

    Args:
        model: an :class:`adain.model.AdaIN` (weights loaded); ``None`` with ``op``.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.
        dtype: ``float32`` (default) or, on CUDA, ``bfloat16`` / ``float16`` autocast.
        batch_size: contents per forward pass.
        op: instead of AdaIN, a float ``(B, 3, H, W) -> (B, 3, H, W)`` operation in [0, 1] (the
            texture-suppression filters of :mod:`adain.filters`); painting statistics are ignored.
    """

    def __init__(
        self,
        model: AdaIN | None,
        device: str = "auto",
        dtype: str = "float32",
        batch_size: int = 16,
        op: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if (model is None) == (op is None):
            raise ValueError("give either a model or an op")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if self.device.type == "cuda":
            disable_tf32()  # float32 means IEEE float32: part of every shard's fingerprint
        self.batch_size = batch_size
        self.op = op
        self.model = model
        if model is not None:
            self.model = model.to(self.device).eval().requires_grad_(False)
            if self.device.type == "cuda":
                self.model = self.model.to(memory_format=torch.channels_last)

    def _to_input(self, images: torch.Tensor) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` -> float in [0, 1] on the device (as ``ToTensor``)."""
        images = images.to(self.device, non_blocking=True).float().div(255)
        if self.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _autocast(self):
        enabled = self.dtype != torch.float32
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=enabled)

    @torch.inference_mode()
    def encode_stats(self, images: torch.Tensor) -> torch.Tensor:
        """Painting statistics: ``uint8 (B, 3, H, W)`` -> ``(B, 2, 512)`` float32 on the CPU
        (``[:, 0]`` mean, ``[:, 1]`` std of relu4_1). Always computed in float32."""
        mean, std = calc_mean_std(self.model.encode(self._to_input(images)).float())
        return torch.stack([mean.flatten(1), std.flatten(1)], dim=1).cpu()

    @torch.inference_mode()
    def stylize_float(self, content: torch.Tensor, stats: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """``uint8 (B, 3, H, W)`` contents with per-sample ``(B, 2, 512)`` painting statistics ->
        float ``(B, 3, H, W)`` on the device, not clamped."""
        with self._autocast():
            if self.op is not None:
                return self.op(self._to_input(content)).float()
            stats = stats.to(self.device, non_blocking=True)
            out = self.model(self._to_input(content), stats[:, 0], stats[:, 1], alpha)
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
        buckets = _Buckets(self.batch_size, max_pending=4 * self.batch_size)

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
    ) -> Iterator[Stylized | Rejected | Flushed]:
        """Stylize every image of ``dataset`` with its paintings.

        Args:
            dataset: the content images.
            paintings: for item ``i``, the painting numbers to apply (one output each).
            stats: painting number -> ``(2, 512)`` statistics.
            alpha: stylization strength in [0, 1].
            workers: decoding processes.
            finish: optional float ``(B, 3, H, W) -> (B, 3, h, w)`` step before quantization
                (e.g. downsampling for the 64x64 preset).
            drain_every: if > 0, run every pending batch after each ``drain_every``-th item,
                counted as ``count_offset + items consumed`` (so a resumed run that starts at
                ``count_offset`` drains at the same items as an uninterrupted one).
            count_offset: see ``drain_every``.

        Yields:
            :class:`Stylized` per (image, painting), :class:`Rejected` per unusable image, in
            completion order (batches group equal sizes), and :class:`Flushed` whenever nothing
            is pending.
        """
        if len(paintings) != len(dataset):
            raise ValueError(f"{len(paintings)} painting lists for {len(dataset)} images")
        buckets = _Buckets(self.batch_size, max_pending=8 * self.batch_size)

        def run(group: list[tuple[int, int, torch.Tensor]]) -> Iterator[Stylized]:
            content = torch.stack([image for _, _, image in group])
            style = torch.from_numpy(np.stack([stats[p] for _, p, _ in group]))
            out = self.stylize_float(content, style, alpha)
            if finish is not None:
                out = finish(out)
            pixels = quantize(out).permute(0, 2, 3, 1).cpu().numpy()
            for (index, painting, _), image in zip(group, pixels):
                yield Stylized(index, painting, image)

        for index, image, reason in iterate_images(dataset, workers):
            if image is None:
                yield Rejected(index, reason)
            else:
                for painting in paintings[index]:
                    batch = buckets.add(tuple(image.shape[-2:]), (index, painting, image))
                    if batch:
                        yield from run(batch)
            if drain_every and (count_offset + index + 1) % drain_every == 0:
                for batch in buckets.drain():
                    yield from run(batch)
            if buckets.pending == 0:
                yield Flushed(index + 1)
        for batch in buckets.drain():
            yield from run(batch)
        if len(dataset):
            yield Flushed(len(dataset))

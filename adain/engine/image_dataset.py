"""The pipeline's input side: :class:`ImageDataset` decodes and preprocesses images in DataLoader
workers (the ``fast``/``exact``/``device`` decode paths), and :func:`iterate_batches` collates runs of
consecutive images into ``uint8 (n, 3, H, W)`` tensors, one per image size (:class:`ImageBatch`),
pinned on CUDA."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from .images import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_PREPROCESSED_PIXELS,
    MIN_SIDE,
    EncodedJpeg,
    ImageRejected,
    Preprocess,
    check_min_side,
    check_preprocessed_size,
    decode_jpegs,
    open_rgb,
    read_jpeg_bytes,
    read_jpeg_tensor,
    to_uint8_tensor,
)

__all__ = ["DECODE_PATHS", "ImageDataset", "ImageBatch", "iterate_images", "iterate_batches", "run_bounds", "size_key"]

log = logging.getLogger(__name__)


#: ``fast``: JPEGs decoded by ``torchvision.io.decode_jpeg`` in the workers and resized on tensors
#: (within 1 level of PIL's pixels); ``exact``: PIL for every step; ``device``: the workers read the
#: JPEG bytes and the compute device decodes them (nvJPEG, batched, on CUDA; the ``fast`` pixels on
#: the CPU) and resizes them (``resize-crop`` recipes; others as ``fast``).
DECODE_PATHS = ("fast", "exact", "device")


class ImageDataset(Dataset):
    """Decode + preprocess images for DataLoader workers.

    Item ``i`` is ``(i, image, reason)``: ``image`` a ``uint8 (3, H, W)`` tensor, or ``None``
    with ``reason`` saying why the file was rejected.

    Args:
        decode: ``exact`` (PIL for every step) or ``fast`` (:data:`DECODE_PATHS`: plain JPEGs
            through ``decode_jpeg`` and the recipe on tensors; everything else still via PIL).
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        preprocess: Preprocess,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_preprocessed_pixels: int = DEFAULT_MAX_PREPROCESSED_PIXELS,
        decode: str = "exact",
        styles: Sequence[Sequence[str | Path]] | None = None,
        style_preprocess: Preprocess | None = None,
    ):
        if decode not in DECODE_PATHS:
            raise ValueError(f"unknown decode path {decode!r}; use one of {list(DECODE_PATHS)}")
        if styles is not None and (len(styles) != len(paths) or style_preprocess is None):
            raise ValueError("styles needs one list of painting files per image and a style_preprocess")
        self.paths = list(paths)
        self.preprocess = preprocess
        self.max_pixels = max_pixels
        self.max_preprocessed_pixels = max_preprocessed_pixels
        self.decode = decode
        self.styles = None if styles is None else [list(s) for s in styles]
        self.style_preprocess = style_preprocess

    def load_paintings(self, index: int) -> list[torch.Tensor]:
        """The paintings of item ``index`` (``styles``), each ``uint8 (3, h, w)`` after
        ``style_preprocess``, for colour preservation (which encodes each painting per image).

        Raises:
            ImageRejected: a painting cannot be used (the item is rejected with the reason).
        """
        paintings = []
        for path in self.styles[index]:
            try:
                paintings.append(to_uint8_tensor(self.style_preprocess(open_rgb(path, self.max_pixels))))
            except ImageRejected as error:
                raise ImageRejected(f"painting {Path(path).name}: {error}") from None
        return paintings

    def __len__(self) -> int:
        return len(self.paths)

    def import_decoders(self) -> None:
        """Import the decoding modules in this process, so that forked DataLoader workers start
        with them: otherwise every worker of every job spends ~1.2 s importing torchvision (the
        ``exact`` path needs none)."""
        if self.decode != "exact" and self.preprocess.on_tensors:
            decode_jpegs([])  # imports torchvision.io, decodes nothing
            import torchvision.transforms.v2.functional  # noqa: F401

    def _load(self, path: str | Path) -> torch.Tensor | EncodedJpeg:
        if self.decode == "device" and self.preprocess.recipe == "resize-crop":
            found = read_jpeg_bytes(path, self.max_pixels)
            if found is not None:
                check_preprocessed_size((found.width, found.height), self.preprocess, self.max_preprocessed_pixels)
                found.width, found.height = self.preprocess.output_size(found.width, found.height)
                return found
        if self.decode != "exact" and self.preprocess.on_tensors:
            image = read_jpeg_tensor(path, self.max_pixels)
            if image is not None:
                check_preprocessed_size(
                    (image.shape[-1], image.shape[-2]), self.preprocess, self.max_preprocessed_pixels
                )
                return self.preprocess.apply_tensor(image)
        image = open_rgb(path, self.max_pixels)
        check_preprocessed_size(image.size, self.preprocess, self.max_preprocessed_pixels)
        return to_uint8_tensor(self.preprocess(image))

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | EncodedJpeg | None, str | None]:
        try:
            image = self._load(self.paths[index])
            if isinstance(image, EncodedJpeg):
                if min(image.width, image.height) < MIN_SIDE:
                    raise ImageRejected(
                        f"too small: image is {image.width}x{image.height} after preprocessing, "
                        f"the encoder needs >= {MIN_SIDE} px per side"
                    )
            else:
                check_min_side(image)
            return index, image, None
        except ImageRejected as error:
            return index, None, str(error)


def _as_list(batch: list) -> list:
    return batch


def iterate_images(
    dataset: ImageDataset, workers: int, prefetch: int = 4
) -> Iterator[tuple[int, torch.Tensor | None, str | None]]:
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
class ImageBatch:
    """Items ``start`` to ``stop`` (exclusive) of an :class:`ImageDataset`, collated in a worker.

    Attributes:
        groups: one ``(indices, images)`` per image size, in order of first appearance:
            ``indices`` the item numbers (ascending), ``images`` ``uint8 (n, 3, H, W)``, or (decode
            path ``device``) a list of :class:`adain.engine.images.EncodedJpeg` of one output size.
        rejected: ``(index, reason)`` of the items that could not be used.
        paintings: with colour preservation (:attr:`ImageDataset.styles`), each kept item's
            paintings as ``uint8 (3, h, w)``.
    """

    start: int
    stop: int
    groups: list[tuple[list[int], torch.Tensor]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    paintings: dict[int, list[torch.Tensor]] = field(default_factory=dict)  # item -> its paintings' pixels
    #: to call once nothing reads the images any more (the device is done): their memory is reused
    release: Callable[[], None] | None = None

    def pin_memory(self) -> ImageBatch:
        """Called by the DataLoader's pinning thread (CUDA): page-locked images copy asynchronously."""
        return ImageBatch(
            self.start,
            self.stop,
            [(i, x.pin_memory() if isinstance(x, torch.Tensor) else x) for i, x in self.groups],
            self.rejected,
            {i: [p.pin_memory() for p in ps] for i, ps in self.paintings.items()},
        )


class _Runs(Dataset):
    """Item ``k``: :class:`ImageBatch` of ``dataset`` over ``bounds[k]:bounds[k + 1]``."""

    def __init__(self, dataset: ImageDataset, bounds: Sequence[int]) -> None:
        self.dataset, self.bounds = dataset, list(bounds)

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def __getitem__(self, k: int) -> ImageBatch:
        start, stop = self.bounds[k], self.bounds[k + 1]
        by_size: dict[tuple, tuple[list[int], list]] = {}
        rejected = []
        paintings = {}
        for index in range(start, stop):
            _, image, reason = self.dataset[index]
            if image is not None and self.dataset.styles is not None:
                try:
                    paintings[index] = self.dataset.load_paintings(index)
                except ImageRejected as error:
                    image, reason = None, str(error)
            if image is None:
                rejected.append((index, reason))
            else:
                key = size_key(image)
                indices, images = by_size.setdefault(key, ([], []))
                indices.append(index)
                images.append(image)
        return ImageBatch(
            start,
            stop,
            [(i, x if isinstance(x[0], EncodedJpeg) else torch.stack(x)) for i, x in by_size.values()],
            rejected,
            paintings,
        )


def size_key(image: torch.Tensor | EncodedJpeg | list) -> tuple:
    """What a batch must share: the size, and whether the images are still encoded."""
    if isinstance(image, list):
        image = image[0]
    if isinstance(image, EncodedJpeg):
        return "jpeg", image.height, image.width
    return tuple(image.shape[-2:])


def run_bounds(length: int, run: int, offset: int = 0) -> list[int]:
    """Boundaries of runs of ``run`` items over ``length`` items, aligned to multiples of ``run``
    counted from ``-offset`` (so a resumed run that starts at item ``offset`` of a longer list
    forms the runs of an uninterrupted one)."""
    first = (-offset) % run or run
    return sorted({0, length, *range(min(first, length), length, run)})


def iterate_batches(
    dataset: ImageDataset, run: int, workers: int, offset: int = 0, pin_memory: bool = False, prefetch: int = 2
) -> Iterator[ImageBatch]:
    """:class:`ImageBatch` es of ``run`` consecutive items (see :func:`run_bounds`), in order,
    decoded and collated by ``workers`` processes (0: in this process); at most
    ``workers * prefetch`` wait ready.

    Images of one fixed size, decoded on the host, are written by the workers straight into
    shared slots (:class:`adain.engine.slots.SlotLoader`; call each batch's ``release`` once the
    device has read it); everything else comes through a DataLoader (pinned on CUDA)."""
    from .slots import SlotLoader, slots_supported

    dataset.import_decoders()
    bounds = run_bounds(len(dataset), run, offset)
    shape = dataset.preprocess.fixed_size
    on_host = dataset.decode != "device" or dataset.preprocess.recipe != "resize-crop"
    if workers and shape and on_host and dataset.styles is None and slots_supported():
        slots = 2 * workers * prefetch + 4  # the prefetched runs, the device's queue, the one in hand
        with SlotLoader(dataset, bounds, shape, workers, slots, pin=pin_memory) as loader:
            yield from loader
        return
    loader = DataLoader(
        _Runs(dataset, bounds),
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        prefetch_factor=prefetch if workers else None,
        persistent_workers=False,
    )
    yield from loader

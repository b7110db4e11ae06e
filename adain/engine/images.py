"""Reading images robustly and the preprocessing recipes of each preset.

Everything returns ``uint8`` tensors ``(3, H, W)`` in RGB, so DataLoader workers ship compact
tensors and the float conversion (``/255``, as ``ToTensor``) happens on the compute device.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:  # torch and torchvision load only where pixels are made: light jobs never import them
    import torch

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_PREPROCESSED_PIXELS",
    "check_preprocessed_size",
    "MIN_SIDE",
    "ImageRejected",
    "open_rgb",
    "check_min_side",
    "Preprocess",
    "box_squash",
    "resize_shorter",
    "center_crop",
    "square_thumbnail",
    "to_uint8_tensor",
    "read_jpeg_tensor",
    "read_jpeg_bytes",
    "EncodedJpeg",
]

#: Default pixel guard: images with more pixels are rejected before decoding (PIL's own
#: decompression-bomb warning threshold). Configurable everywhere (``max_pixels``).
DEFAULT_MAX_PIXELS = 89_478_485

#: Default guard on the working size of a preprocessed image: ``Resize(256)`` of a 20000x2 file
#: would allocate 256 x 2,560,000 pixels (gigabytes) from a 196-byte PNG. An ImageNet photo needs
#: ~90k, a 10:1 panorama ~655k.
DEFAULT_MAX_PREPROCESSED_PIXELS = 50_000_000

#: The encoder needs at least 2x2 relu4_1 positions (ReflectionPad2d and the unbiased variance),
#: i.e. at least 9 pixels per side after preprocessing.
MIN_SIDE = 9


class ImageRejected(Exception):
    """An input that cannot become an image; ``str(error)`` is the recorded reason."""


def open_rgb(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode ``path`` fully and convert it to RGB (grayscale, CMYK, RGBA, palette, 16-bit, ...).

    The format is taken from the bytes, not the name (a PNG named ``.JPEG`` works).

    Raises:
        ImageRejected: empty, truncated or not an image, or more than ``max_pixels`` pixels.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            if max_pixels and width * height > max_pixels:
                raise ImageRejected(f"too large: {width}x{height} = {width * height} pixels > max_pixels={max_pixels}")
            if image.mode.startswith("I;16"):  # 16-bit grayscale: keep the top 8 bits
                image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8))
            return image.convert("RGB")
    except ImageRejected:
        raise
    except Image.DecompressionBombError as error:
        raise ImageRejected(f"too large: {error}") from None
    except FileNotFoundError:
        raise ImageRejected("file not found") from None
    except Exception as error:  # UnidentifiedImageError, truncated data, broken plugins, ...
        size = Path(path).stat().st_size if Path(path).exists() else -1
        detail = "empty file" if size == 0 else f"{type(error).__name__}: {error}"
        raise ImageRejected(f"undecodable: {detail}") from None


def check_min_side(image: torch.Tensor | Image.Image, what: str = "image") -> None:
    """Raise :class:`ImageRejected` if a side is below :data:`MIN_SIDE` pixels."""
    width, height = image.size if isinstance(image, Image.Image) else (image.shape[-1], image.shape[-2])
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(
            f"too small: {what} is {width}x{height} after preprocessing, the encoder needs >= {MIN_SIDE} px per side"
        )


def check_preprocessed_size(
    size: tuple[int, int], recipe: Preprocess, limit: int = DEFAULT_MAX_PREPROCESSED_PIXELS
) -> None:
    """Raise :class:`ImageRejected` before preprocessing an image of ``size`` ``(W, H)`` would
    allocate more than ``limit`` pixels (extreme aspect ratios: ``Resize`` scales the long side)."""
    width, height = recipe.working_size(*size)
    if limit and width * height > limit:
        ratio = max(size) / max(1, min(size))
        raise ImageRejected(
            f"too large after preprocessing: {size[0]}x{size[1]} (aspect ratio {ratio:.0f}:1) would become "
            f"{width}x{height} = {width * height} pixels > max_preprocessed_pixels={limit}"
        )


def to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> ``uint8`` tensor ``(3, H, W)`` (``torchvision``'s ``pil_to_tensor``; the PIL
    path needs no torchvision, whose import costs ~1.5 s per process)."""
    import torch

    return torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1)


def read_jpeg_tensor(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor | None:
    """Decode a plain RGB or grayscale JPEG with ``torchvision.io.decode_jpeg`` (libjpeg-turbo, the
    same pixels as PIL's decoder): ``uint8 (3, H, W)``.

    Returns ``None`` for anything else (another format, CMYK, a file ``decode_jpeg`` refuses, e.g.
    a truncated one): :func:`open_rgb` then decides, with its recorded reason.

    Raises:
        ImageRejected: more than ``max_pixels`` pixels (checked from the header, before decoding).
    """
    found = read_jpeg_bytes(path, max_pixels)
    if found is None:
        return None
    try:
        return decode_jpegs([found.data], "cpu")[0]
    except RuntimeError:
        return None


@dataclass
class EncodedJpeg:
    """A plain JPEG's bytes (``uint8 (n,)``) and its size, to be decoded where it is used."""

    data: torch.Tensor
    width: int
    height: int


def read_jpeg_bytes(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> EncodedJpeg | None:
    """The bytes of a plain RGB or grayscale JPEG (checked from its header), or ``None`` for
    anything else (:func:`open_rgb` then decides).

    Raises:
        ImageRejected: more than ``max_pixels`` pixels.
    """
    import torch

    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\xff\xd8"):
        return None
    try:
        with Image.open(BytesIO(data)) as header:  # the header only: format, mode, size
            if header.format != "JPEG" or header.mode not in ("RGB", "L"):
                return None
            width, height = header.size
    except Exception:  # noqa: BLE001 - PIL gives the reason
        return None
    if max_pixels and width * height > max_pixels:
        raise ImageRejected(f"too large: {width}x{height} = {width * height} pixels > max_pixels={max_pixels}")
    return EncodedJpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), width, height)


def decode_jpegs(data: list[torch.Tensor], device: str | torch.device = "cpu") -> list[torch.Tensor]:
    """``torchvision.io.decode_jpeg`` of JPEG bytes to ``uint8 (3, H, W)`` RGB on ``device``
    (libjpeg-turbo on the CPU: PIL's pixels; nvJPEG, batched, on CUDA).

    Raises:
        RuntimeError: a file ``decode_jpeg`` refuses (e.g. truncated).
    """
    import warnings

    # torchvision 0.29 deprecates its image IO in favour of torchcodec (not installed here): this
    # one notice, not one per image (a filter, not catch_warnings: threads decode at the same time)
    warnings.filterwarnings(
        "ignore", message="The image decoding and encoding capabilities of TorchVision", category=DeprecationWarning
    )
    from torchvision.io import ImageReadMode, decode_jpeg

    if str(device) == "cpu":
        return [decode_jpeg(d, mode=ImageReadMode.RGB) for d in data]
    return list(decode_jpeg(data, mode=ImageReadMode.RGB, device=device))


def resize_shorter(image: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size``, exactly as ``torchvision.transforms.Resize(size)`` on PIL (its
    output size, then PIL's bilinear resize, which is antialiased); tested equal to torchvision."""
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    target = (size, new_long) if width <= height else (new_long, size)
    return image if target == (width, height) else image.resize(target, Image.BILINEAR)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Exactly ``torchvision.transforms.CenterCrop(size)`` on PIL: a smaller image is first padded
    with zeros (the extra pixel right and bottom), then the crop's corner is rounded as torchvision
    rounds it; tested equal to torchvision."""
    width, height = image.size
    if size > width or size > height:
        left, top = max(0, (size - width) // 2), max(0, (size - height) // 2)
        padded = Image.new(image.mode, (width + max(0, size - width), height + max(0, size - height)))
        padded.paste(image, (left, top))
        image, (width, height) = padded, padded.size
        if (width, height) == (size, size):
            return image
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def square_thumbnail(image: Image.Image, size: int) -> Image.Image:
    """The largest centred square, then ``PIL.Image.thumbnail((size, size), LANCZOS)``.

    The official Stylized-ImageNet painting recipe (thumbnail never enlarges).
    """
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    square.thumbnail((size, size), Image.LANCZOS)
    return square


def box_squash(image: Image.Image, size: int) -> Image.Image:
    """Whole image to ``size x size`` with a box filter (Downsampled-ImageNet convention)."""
    return image.resize((size, size), Image.BOX)


@dataclass(frozen=True)
class Preprocess:
    """A picklable PIL preprocessing recipe (safe to send to DataLoader workers).

    Recipes:
        ``"resize-crop"``: optional ``Resize(size)`` on the shorter side, then optional
        ``CenterCrop(crop)`` (stylize-datasets; ``size=256, crop=224`` is Stylized-ImageNet's content).
        ``"square-thumbnail"``: :func:`square_thumbnail` to ``size`` (Stylized-ImageNet's paintings).
        ``"box"``: :func:`box_squash` to ``size x size``.

    ``key`` names the recipe exactly, for caches and provenance.
    """

    recipe: str = "resize-crop"
    size: int = 0
    crop: int = 0

    def __post_init__(self) -> None:
        if self.recipe not in ("resize-crop", "square-thumbnail", "box"):
            raise ValueError(f"unknown recipe {self.recipe!r}")
        if self.size < 0 or self.crop < 0 or (self.recipe != "resize-crop" and self.size <= 0):
            raise ValueError(f"invalid sizes for {self.recipe!r}: size={self.size}, crop={self.crop}")

    @property
    def key(self) -> str:
        return f"{self.recipe}-{self.size}-{self.crop}"

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """``(W, H)`` of the ``resize-crop`` recipe's output for a ``width x height`` input."""
        if self.recipe != "resize-crop":
            raise ValueError(f"output_size is for resize-crop, not {self.recipe!r}")
        if self.crop:
            return self.crop, self.crop
        if self.size:
            short, long = min(width, height), max(width, height)
            scaled = int(self.size * long / short)
            return (self.size, scaled) if width <= height else (scaled, self.size)
        return width, height

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """``(H, W)`` of every output when the recipe makes one size (a crop, a box), else ``None``."""
        if self.recipe == "resize-crop":
            return (self.crop, self.crop) if self.crop else None
        return self.size, self.size

    def working_size(self, width: int, height: int) -> tuple[int, int]:
        """The largest image ``(W, H)`` this recipe makes on the way from a ``width x height`` input."""
        if self.recipe == "square-thumbnail":
            side = min(width, height)
            return side, side
        if self.recipe == "box":
            return self.size, self.size
        if self.size:
            short, long = min(width, height), max(width, height)
            scaled = int(self.size * long / max(1, short)) + 1
            return (self.size, scaled) if width <= height else (scaled, self.size)
        return width, height

    @property
    def on_tensors(self) -> bool:
        """Whether :meth:`apply_tensor` offers this recipe (not the paintings' LANCZOS thumbnail)."""
        return self.recipe != "square-thumbnail"

    def apply_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """The recipe on a ``uint8 (3, H, W)`` tensor (the ``fast`` decode path).

        ``resize-crop`` uses ``transforms.v2`` (bilinear, antialiased): within 1 level of PIL's
        (mean ~0.002 levels on photos; tested), exact without resizing. ``box`` runs PIL's box
        filter on the decoded pixels (PIL's is faster than any tensor box here), so it is exact.
        """
        if self.recipe == "box":
            return to_uint8_tensor(box_squash(Image.fromarray(image.permute(1, 2, 0).numpy()), self.size))
        if self.recipe != "resize-crop":
            raise ValueError(f"recipe {self.recipe!r} runs on PIL images only")
        import torchvision.transforms.v2.functional as F2

        if self.size:
            image = F2.resize(image, [self.size], interpolation=F2.InterpolationMode.BILINEAR, antialias=True)
        if self.crop:
            image = F2.center_crop(image, [self.crop, self.crop])
        return image.contiguous()

    def __call__(self, image: Image.Image) -> Image.Image:
        if self.recipe == "square-thumbnail":
            return square_thumbnail(image, self.size)
        if self.recipe == "box":
            return box_squash(image, self.size)
        if self.size:
            image = resize_shorter(image, self.size)
        if self.crop:
            image = center_crop(image, self.crop)
        return image

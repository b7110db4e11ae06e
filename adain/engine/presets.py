"""The dataset presets: how contents and paintings are prepared, and what a stored image is.

``sin``  the official Stylized-ImageNet recipe: content ``Resize(256)`` + ``CenterCrop(224)``
         (torchvision on PIL: bilinear, antialiased); painting: largest centred square, then
         ``thumbnail((224, 224), LANCZOS)``; alpha 1.
``full`` stylize-datasets defaults: content at its original size, painting ``Resize(512)`` on the
         shorter side; images stored PNG-encoded (or JPEG), exactly the content's size.
``64``   64x64 in the Downsampled-ImageNet convention: the whole image squashed with a box filter
         (no crop). By default stylized at 256x256 (painting: square thumbnail 256), then box-filtered
         4x down to 64x64 before quantization; ``stylize_size=64`` stylizes directly at 64x64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .images import Preprocess

if TYPE_CHECKING:
    import torch

__all__ = ["Preset", "get_preset", "PRESETS"]

PRESETS = ("sin", "full", "64")


@dataclass(frozen=True)
class Preset:
    """What a preset does.

    Attributes:
        name: ``sin`` | ``full`` | ``64``.
        content: content preprocessing (in decode workers).
        painting: painting preprocessing.
        size: the stored image side for fixed-size presets, ``None`` for ``full``.
        downsample: integer box-filter factor applied to the float output before quantization.
    """

    name: str
    content: Preprocess
    painting: Preprocess
    size: int | None
    downsample: int = 1

    @property
    def fixed_size(self) -> bool:
        return self.size is not None

    def finish(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """Float ``(B, 3, H, W)`` -> ``(B, 3, H/f, W/f)`` box filter, or ``None`` when ``f == 1``."""
        if self.downsample == 1:
            return None
        factor = self.downsample
        import torch.nn.functional as F

        return lambda images: F.avg_pool2d(images, factor)

    def describe(self) -> dict:
        """Provenance record for shard attributes."""
        return {
            "preset": self.name,
            "content_recipe": self.content.key,
            "painting_recipe": self.painting.key,
            "downsample": self.downsample,
        }


def get_preset(name: str, stylize_size_64: int = 256) -> Preset:
    """The preset called ``name``; ``stylize_size_64`` (a multiple of 64) applies to ``64`` only."""
    if name == "sin":
        return Preset("sin", Preprocess("resize-crop", 256, 224), Preprocess("square-thumbnail", 224), 224)
    if name == "full":
        return Preset("full", Preprocess(), Preprocess("resize-crop", 512), None)
    if name == "64":
        if stylize_size_64 < 64 or stylize_size_64 % 64:
            raise ValueError(f"stylize_size_64 must be a positive multiple of 64, got {stylize_size_64}")
        return Preset(
            "64",
            Preprocess("box", stylize_size_64),
            Preprocess("square-thumbnail", stylize_size_64),
            64,
            downsample=stylize_size_64 // 64,
        )
    raise ValueError(f"unknown preset {name!r}; use one of {list(PRESETS)}")

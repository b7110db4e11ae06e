"""Texture-suppression variants ("Suppressing texture to build representations for better
transfer learning"): Gaussian, bilateral, anisotropic diffusion (Perona-Malik) and cartoon; and
``none``, the identity, which makes plain ImageNet (IN) shards in the same format as SIN.

Every function takes and returns float images ``(B, 3, H, W)`` in [0, 1] on any device, batched.
kornia supplies the image operations where it has them; Perona-Malik is written here in torch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale
from kornia.filters import bilateral_blur, box_blur, gaussian_blur2d, median_blur
from kornia.geometry.transform import pyrdown, pyrup

__all__ = ["METHODS", "DEFAULTS", "gaussian", "bilateral", "anisotropic", "cartoon", "identity", "get_filter"]

#: Parameters of each method and their defaults (the config schema documents them).
DEFAULTS: dict[str, dict] = {
    "gaussian": {"kernel_size": 9, "sigma": 3.0},
    "bilateral": {"diameter": 9, "sigma_color": 75 / 255, "sigma_space": 75.0, "iterations": 1},
    "anisotropic": {"iterations": 20, "kappa": 50.0, "gamma": 0.1, "option": 1},
    "cartoon": {
        "downsamples": 2,
        "bilateral_iterations": 7,
        "diameter": 9,
        "sigma_color": 9 / 255,
        "sigma_space": 7.0,
        "median": 7,
        "block": 9,
        "c": 2.0,
    },
}
#: ``none``: the preset's preprocessing only (IN beside SIN, image for image); no parameters.
METHODS = ("adain", "none", *DEFAULTS)


def _check(images: torch.Tensor) -> None:
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")


def gaussian(images: torch.Tensor, kernel_size: int = 9, sigma: float = 3.0) -> torch.Tensor:
    """Gaussian blur (kornia ``gaussian_blur2d``, reflect border).

    Example:
        >>> gaussian(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """
    _check(images)
    return gaussian_blur2d(images, (kernel_size, kernel_size), (sigma, sigma))


def bilateral(
    images: torch.Tensor,
    diameter: int = 9,
    sigma_color: float = 75 / 255,
    sigma_space: float = 75.0,
    iterations: int = 1,
) -> torch.Tensor:
    """Bilateral filter (kornia ``bilateral_blur``: L1 colour distance, reflect border), repeated
    ``iterations`` times. ``sigma_color`` is in [0, 1] units (75/255 = OpenCV's 75)."""
    _check(images)
    for _ in range(iterations):
        images = bilateral_blur(images, (diameter, diameter), sigma_color, (sigma_space, sigma_space))
    return images


def anisotropic(
    images: torch.Tensor, iterations: int = 20, kappa: float = 50.0, gamma: float = 0.1, option: int = 1
) -> torch.Tensor:
    """Perona-Malik anisotropic diffusion, per channel, with zero flux across the border.

    Args:
        kappa: conduction threshold in 8-bit units (edges with gradients well above it are kept).
        gamma: step, <= 0.25 for stability with 4 neighbours.
        option: conduction function, 1 = ``exp(-(d/kappa)^2)`` (favours high-contrast edges),
            2 = ``1 / (1 + (d/kappa)^2)`` (favours wide regions).
    """
    _check(images)
    if not 0 < gamma <= 0.25:
        raise ValueError(f"gamma must lie in (0, 0.25] for a stable diffusion, got {gamma}")
    if option not in (1, 2):
        raise ValueError(f"option must be 1 (exp) or 2 (rational), got {option}")
    values = images * 255.0
    for _ in range(iterations):
        padded = F.pad(values, (1, 1, 1, 1), mode="replicate")  # replicate: zero gradient at the border
        north = padded[..., :-2, 1:-1] - values
        south = padded[..., 2:, 1:-1] - values
        west = padded[..., 1:-1, :-2] - values
        east = padded[..., 1:-1, 2:] - values
        flux = torch.zeros_like(values)
        for delta in (north, south, east, west):
            ratio = (delta / kappa) ** 2
            conduction = torch.exp(-ratio) if option == 1 else 1.0 / (1.0 + ratio)
            flux = flux + conduction * delta
        values = values + gamma * flux
    return (values / 255.0).clamp(0, 1)


def cartoon(
    images: torch.Tensor,
    downsamples: int = 2,
    bilateral_iterations: int = 7,
    diameter: int = 9,
    sigma_color: float = 9 / 255,
    sigma_space: float = 7.0,
    median: int = 7,
    block: int = 9,
    c: float = 2.0,
) -> torch.Tensor:
    """The usual cartoon recipe: colours from pyramid-down x ``downsamples``, repeated bilateral,
    pyramid-up; edges from grayscale -> median blur -> adaptive mean threshold (``block``, ``c``,
    8-bit units); the colours are kept where the mask is white."""
    _check(images)
    height, width = images.shape[-2:]
    colour = images
    for _ in range(downsamples):
        colour = pyrdown(colour)
    colour = bilateral(colour, diameter, sigma_color, sigma_space, bilateral_iterations)
    for _ in range(downsamples):
        colour = pyrup(colour)
    colour = F.interpolate(colour, size=(height, width), mode="bilinear", align_corners=False)
    gray = median_blur(rgb_to_grayscale(images) * 255.0, (median, median))
    threshold = box_blur(gray, (block, block)) - c
    edges = (gray > threshold).to(images.dtype)
    return (colour * edges).clamp(0, 1)


def identity(images: torch.Tensor) -> torch.Tensor:
    """``none``: the images unchanged; after quantization exactly the preprocessed pixels."""
    _check(images)
    return images


_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "gaussian": gaussian,
    "bilateral": bilateral,
    "anisotropic": anisotropic,
    "cartoon": cartoon,
    "none": identity,
}


def get_filter(method: str, params: dict | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The filter ``method`` with ``params`` (missing ones take :data:`DEFAULTS`) as a function of
    ``(B, 3, H, W)`` images.

    Raises:
        ValueError: unknown method or parameter.
    """
    if method not in _FUNCTIONS:
        raise ValueError(f"unknown method {method!r}; use one of {list(METHODS)}")
    settings = {**DEFAULTS.get(method, {}), **(params or {})}
    unknown = set(settings) - set(DEFAULTS.get(method, {}))
    if unknown:
        raise ValueError(f"unknown parameters for {method}: {sorted(unknown)}")
    function = _FUNCTIONS[method]
    return lambda images: function(images, **settings)

"""Texture-suppression filters against plain references, edge preservation and determinism."""

import numpy as np
import pytest
import torch

from adain.core.filters import DEFAULTS, anisotropic, bilateral, cartoon, gaussian, get_filter
from tests.conftest import photo


def _image(size=(24, 20), seed=0):
    """A small real photo crop as (1, 3, H, W) float64 in [0, 1]."""
    pixels = np.asarray(photo("chelsea", box=(100, 50, 260, 190), size=size), dtype=np.float64) / 255
    return torch.from_numpy(pixels).permute(2, 0, 1)[None]


def perona_malik_loop(image: np.ndarray, iterations, kappa, gamma, option) -> np.ndarray:
    """Direct per-pixel Perona-Malik on an (H, W) channel in 8-bit units, zero flux at the border."""
    out = image.astype(np.float64).copy()
    h, w = out.shape
    for _ in range(iterations):
        new = out.copy()
        for y in range(h):
            for x in range(w):
                total = 0.0
                for dy, dx in ((-1, 0), (1, 0), (0, 1), (0, -1)):
                    ny, nx = min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)
                    d = out[ny, nx] - out[y, x]
                    g = np.exp(-((d / kappa) ** 2)) if option == 1 else 1 / (1 + (d / kappa) ** 2)
                    total += g * d
                new[y, x] = out[y, x] + gamma * total
        out = new
    return out


@pytest.mark.parametrize("option", [1, 2])
def test_anisotropic_matches_a_direct_loop(option):
    image = _image((14, 11))
    ours = anisotropic(image, iterations=4, kappa=20.0, gamma=0.2, option=option)
    for channel in range(3):
        expected = np.clip(perona_malik_loop(image[0, channel].numpy() * 255, 4, 20.0, 0.2, option) / 255, 0, 1)
        np.testing.assert_allclose(ours[0, channel].numpy(), expected, atol=1e-9)


def bilateral_per_pixel(image: np.ndarray, diameter, sigma_color, sigma_space) -> np.ndarray:
    """Direct bilateral filter of (3, H, W): L1 colour distance, Gaussian space weight, reflect border."""
    r = diameter // 2
    padded = np.pad(image, ((0, 0), (r, r), (r, r)), mode="reflect")
    out = np.zeros_like(image)
    offsets = np.arange(-r, r + 1)
    space = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma_space**2))
    for y in range(image.shape[1]):
        for x in range(image.shape[2]):
            window = padded[:, y : y + diameter, x : x + diameter]
            colour = np.abs(window - image[:, y, x][:, None, None]).sum(axis=0)
            weight = space * np.exp(-0.5 * (colour / sigma_color) ** 2)
            out[:, y, x] = (window * weight).sum(axis=(1, 2)) / weight.sum()
    return out


def test_bilateral_matches_a_per_pixel_filter():
    image = _image((13, 12))
    ours = bilateral(image, diameter=5, sigma_color=0.1, sigma_space=2.0)
    expected = bilateral_per_pixel(image[0].numpy(), 5, 0.1, 2.0)
    np.testing.assert_allclose(ours[0].numpy(), expected, atol=1e-6)


def test_gaussian_matches_a_direct_convolution():
    image = _image((15, 13))
    ours = gaussian(image, kernel_size=5, sigma=1.5)
    taps = np.exp(-(np.arange(-2, 3) ** 2) / (2 * 1.5**2))
    taps /= taps.sum()
    padded = np.pad(image[0].numpy(), ((0, 0), (2, 2), (2, 2)), mode="reflect")
    expected = np.zeros_like(image[0].numpy())
    height, width = expected.shape[1:]
    for dy in range(5):
        for dx in range(5):
            expected += taps[dy] * taps[dx] * padded[:, dy : dy + height, dx : dx + width]
    np.testing.assert_allclose(ours[0].numpy(), expected, atol=1e-9)


def test_cartoon_keeps_colours_inside_an_adaptive_threshold_mask():
    image = _image((40, 36)).float()
    out = cartoon(image)
    assert out.shape == image.shape and 0 <= out.min() and out.max() <= 1
    black = (out == 0).all(dim=1)  # the edge lines
    assert 0.02 < black.float().mean() < 0.6
    flat = torch.full((1, 3, 32, 32), 0.5)
    assert (cartoon(flat) > 0).all()  # no edge in a flat image (mean - C stays below every pixel)


def test_edge_preserving_filters_keep_a_step_sharper_than_a_gaussian():
    generator = torch.Generator().manual_seed(0)
    step = torch.zeros(1, 3, 32, 32, dtype=torch.float64)
    step[..., 16:] = 0.8
    noisy = (step + 0.03 * torch.randn(step.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    blur = gaussian(noisy, 9, 2.0)
    flat = lambda x: x[..., 2:-2, 2:12].std()  # noqa: E731 - noise left on a flat region
    edge = lambda x: (x[..., 16] - x[..., 15]).mean()  # noqa: E731 - the jump across the step
    for name, out in {
        "bilateral": bilateral(noisy, 9, 0.15, 3.0, 2),
        "anisotropic": anisotropic(noisy, 30, 30.0, 0.2, 1),
    }.items():
        assert flat(out) <= 1.2 * flat(blur), name  # smooths flat regions about as much ...
        assert edge(out) > 2 * edge(blur), name  # ... but keeps the step


def test_filters_are_deterministic_and_configurable():
    image = _image().float()
    for method in DEFAULTS:
        torch.testing.assert_close(get_filter(method)(image), get_filter(method)(image), rtol=0, atol=0)
    with pytest.raises(ValueError, match="unknown parameters for gaussian"):
        get_filter("gaussian", {"radius": 3})
    with pytest.raises(ValueError, match="gamma"):
        anisotropic(image, gamma=0.3)

"""Histogram matching of a synthesised image to its target, per channel (Gatys et al.'s
DeepTextures post-processing, which Li et al. apply to every picture they show)."""

from __future__ import annotations

import numpy as np

__all__ = ["match_histograms"]


def _mean_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank in ``(0, 1]``: its 1-based position in sorted order divided by the count,
    equal values sharing the mean of their positions."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # 0-based position of each distinct value's first copy
    return (first + (counts + 1) / 2)[inverse.ravel()] / values.size


def match_histograms(image: np.ndarray, reference: np.ndarray, bins: int = 100) -> np.ndarray:
    """Give each channel of ``image`` the value distribution of ``reference``'s channel.

    Each value of ``image`` is replaced by the value of ``reference`` at the same quantile: its
    mean rank (:func:`_mean_ranks`) through the inverse of the reference's cumulative histogram of
    ``bins`` equal bins, linearly interpolated between bin edges. Only the order of ``image``'s
    values counts, so any monotone rescaling of a channel (e.g. Caffe's ``255 * x - mean``) gives
    the same result.

    Args:
        image: ``(H, W, C)`` numbers (any dtype, any range).
        reference: ``(H', W', C)`` ``uint8`` or numbers.

    Returns:
        ``uint8 (H, W, C)`` (rounded to the nearest level; the authors truncate).
    """
    if image.ndim != 3 or reference.ndim != 3 or image.shape[2] != reference.shape[2]:
        raise ValueError(f"need (H, W, C) arrays with as many channels, got {image.shape} and {reference.shape}")
    result = np.empty(image.shape, dtype=np.float64)
    for c in range(image.shape[2]):
        counts, edges = np.histogram(reference[..., c].ravel().astype(np.float64), bins=bins)
        cumulative = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
        ranks = np.minimum(_mean_ranks(image[..., c].ravel()), cumulative[-1])
        result[..., c] = np.interp(ranks, cumulative, edges).reshape(image.shape[:2])
    return np.clip(np.rint(result), 0, 255).astype(np.uint8)

"""How many units of a layer encode shape and how many texture (Islam et al., ICLR 2021), with the
estimator of Esser, Rombach and Ommer (CVPR 2020).

Pairs of images share one factor: a *shape* pair is one content under two textures, a *texture* pair
two contents of different classes under one texture. For a layer's pooled features ``z_a`` and
``z_b`` of the two members of every pair, the released code (islamamirul/shape_texture_neuron,
``dim_estimation/utils.py: dim_est``; the same arithmetic as CompVis/iin ``dim_callback``)
computes, in this order:

1. the total variance ``V = sum_d mean_n (z_nd - mu_d)^2`` over *all* rows of both members (every
   pair, whatever its factor; ``mu`` their mean);
2. for the shape (0) and the texture (1) factor, over that factor's pairs only: the factor's mean
   ``m = (mean(z_a) + mean(z_b)) / 2`` and the score
   ``s_f = sum_d mean_n (z_a,nd - m_d) (z_b,nd - m_d) / V`` — the summed per-unit covariance of
   the two members over the summed total variance;
3. a residual score of 1;
4. a softmax over ``(s_shape, s_texture, 1)``, each share times the width ``D`` truncated to an
   integer (``int``), the residual taking the remainder ``D - shape - texture``;
5. each count as a percentage of ``D``, rounded to one decimal (Python's ``round``).

The paper presents the score as a mutual-information estimate from the correlation of the two
members, normalised unit by unit; the code (which produced the published tables) divides a *summed
covariance* by the *summed total variance*, around the mean of the factor's pairs. We follow the
code (docs/shapebias.md, "Shape and texture dimensions").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Dimensions", "estimate_dimensions", "FACTOR_NAMES"]

#: The order of ``scores``, ``dims`` and ``percent``.
FACTOR_NAMES = ("shape", "texture", "residual")


class Dimensions(NamedTuple):
    """The estimate of one layer: each a tuple in :data:`FACTOR_NAMES` order.

    Attributes:
        scores: ``(s_shape, s_texture, 1.0)``, floats.
        dims: units per factor, ints summing to the layer's width ``D``.
        percent: ``round(100 * dims / D, 1)``.
    """

    scores: tuple[float, float, float]
    dims: tuple[int, int, int]
    percent: tuple[float, float, float]


def estimate_dimensions(features_a, features_b, factors) -> Dimensions:
    """Shape, texture and residual units of a layer, exactly as the released code counts them.

    Args:
        features_a: ``(N, D)`` floats, row ``i`` the first member of pair ``i`` (e.g. globally
            average-pooled activations of one layer).
        features_b: ``(N, D)`` floats, the second members.
        factors: ``(N,)`` ints: 0 for a shape pair, 1 for a texture pair; any other value (the
            authors' draw labels half of its texture pairs 2 or 3) counts in the total variance only.

    Returns:
        :class:`Dimensions` ``(scores, dims, percent)``, computed in float64.

    Raises:
        ValueError: shapes that do not match, no shape or no texture pair, or features without
            variance.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=(200, 8)); b = a + rng.normal(size=(200, 8))
        >>> estimate_dimensions(a, b, np.arange(200) % 2).dims
        (2, 2, 4)
    """
    za = np.asarray(features_a, dtype=np.float64)
    zb = np.asarray(features_b, dtype=np.float64)
    factors = np.asarray(factors)
    if za.ndim != 2 or za.shape != zb.shape:
        raise ValueError(f"features_a and features_b must both be (N, D), got {za.shape} and {zb.shape}")
    if factors.shape != (za.shape[0],):
        raise ValueError(f"factors must be ({za.shape[0]},) (one per pair), got {factors.shape}")
    rows = np.concatenate([za, zb], axis=0)
    centred = rows - rows.mean(axis=0, keepdims=True)
    variance = float(np.sum(np.mean(centred * centred, axis=0)))
    if not variance > 0:
        raise ValueError("the features do not vary over the pairs (total variance 0): nothing to estimate")
    scores = []
    for factor, name in enumerate(FACTOR_NAMES[:2]):
        picked = factors == factor
        if not picked.any():
            raise ValueError(f"no {name} pairs (factor {factor}) among the {len(factors)} pairs")
        a, b = za[picked], zb[picked]
        mean = 0.5 * (a.mean(axis=0, keepdims=True) + b.mean(axis=0, keepdims=True))
        scores.append(float(np.sum(np.mean((a - mean) * (b - mean), axis=0)) / variance))
    scores.append(1.0)
    exponentials = np.exp(np.asarray(scores) - max(scores))
    shares = exponentials / exponentials.sum()
    width = za.shape[1]
    dims = [int(share * width) for share in shares]
    dims[-1] = width - sum(dims[:-1])
    percent = tuple(round(100 * (count / sum(dims)), 1) for count in dims)
    return Dimensions(tuple(scores), tuple(dims), percent)

"""The dimension estimator of Islam et al. (2021): against a plain restatement of the released code's
arithmetic, against numbers worked out by hand, and against what published figures must satisfy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adain.evaluation.dimensionality import FACTOR_NAMES, estimate_dimensions


def restated(za, zb, factors):
    """The released ``dim_est`` written out unit by unit in plain Python (no numpy reductions)."""
    n, width = len(za), len(za[0])
    rows = [list(map(float, r)) for r in za] + [list(map(float, r)) for r in zb]
    mu = [sum(r[d] for r in rows) / len(rows) for d in range(width)]
    variance = sum(sum((r[d] - mu[d]) ** 2 for r in rows) / len(rows) for d in range(width))
    scores = []
    for factor in (0, 1):
        pairs = [i for i in range(n) if factors[i] == factor]
        total = 0.0
        for d in range(width):
            mean_a = sum(float(za[i][d]) for i in pairs) / len(pairs)
            mean_b = sum(float(zb[i][d]) for i in pairs) / len(pairs)
            m = 0.5 * (mean_a + mean_b)
            total += sum((float(za[i][d]) - m) * (float(zb[i][d]) - m) for i in pairs) / len(pairs)
        scores.append(total / variance)
    scores.append(1.0)
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    shares = [e / sum(exps) for e in exps]
    dims = [int(s * width) for s in shares]
    dims[-1] = width - sum(dims[:-1])
    return scores, dims, [round(100 * (d / sum(dims)), 1) for d in dims]


def _pairs(seed: int, n: int = 120, width: int = 37, shape_strength=1.5, texture_strength=0.7):
    """Features with a shared component per factor: shape pairs share a 'shape' vector, texture pairs a
    'texture' vector; labels 0..3 as the authors' draw makes them."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 4, size=n)
    za = rng.normal(size=(n, width))
    zb = rng.normal(size=(n, width))
    shared = rng.normal(size=(n, width))
    strength = np.where(factors == 0, shape_strength, texture_strength)[:, None]
    return za + strength * shared, zb + strength * shared, factors


@pytest.mark.parametrize("seed", range(6))
def test_equals_the_restated_released_arithmetic(seed):
    za, zb, factors = _pairs(seed, width=[37, 64, 5, 200, 11, 2048][seed], n=[120, 80, 300, 40, 60, 50][seed])
    scores, dims, percent = estimate_dimensions(za, zb, factors)
    expected_scores, expected_dims, expected_percent = restated(za.tolist(), zb.tolist(), factors.tolist())
    assert list(dims) == expected_dims and list(percent) == expected_percent
    assert scores == pytest.approx(expected_scores, rel=1e-12, abs=1e-12)
    assert sum(dims) == za.shape[1] and all(d >= 0 for d in dims)


def test_worked_by_hand():
    """Two pairs, one unit repeated 1000 times: rows 1, -1 (first members) and 1, 1 (second).
    Mean 0.5, total variance per unit (0.25 + 2.25 + 0.25 + 0.25) / 4 = 0.75. The shape pair (1, 1)
    around its mean 1 has covariance 0; the texture pair (-1, 1) around its mean 0 has -1, score -4/3."""
    za = np.ones((2, 1000))
    za[1] = -1
    zb = np.ones((2, 1000))
    scores, dims, percent = estimate_dimensions(za, zb, [0, 1])
    assert scores == pytest.approx((0.0, -4 / 3, 1.0))
    total = 1 + math.exp(-4 / 3) + math.e  # softmax of (0, -4/3, 1): 0.2511, 0.0662, 0.6827
    assert dims == (int(1000 / total), int(1000 * math.exp(-4 / 3) / total), 1000 - 251 - 66)
    assert dims == (251, 66, 683) and percent == (25.1, 6.6, 68.3)


def test_order_scale_offset_and_labels_beyond_one():
    za, zb, factors = _pairs(7)
    base = estimate_dimensions(za, zb, factors)
    swapped = estimate_dimensions(zb, za, factors)  # members swapped: the same up to rounding
    assert swapped.dims == base.dims and swapped.scores == pytest.approx(base.scores, rel=1e-12)
    shifted = estimate_dimensions(3.0 * za + 5.0, 3.0 * zb + 5.0, factors)
    assert shifted.dims == base.dims and shifted.scores == pytest.approx(base.scores)
    assert estimate_dimensions(za.astype(np.float32), zb.astype(np.float32), factors).dims == base.dims
    # pairs labelled 2 or 3 count in the total variance only: relabelling them 7 changes nothing,
    # dropping them changes the variance (and so the scores)
    relabelled = np.where(factors >= 2, 7, factors)
    assert estimate_dimensions(za, zb, relabelled) == base  # the very same arithmetic
    kept = factors < 2
    assert estimate_dimensions(za[kept], zb[kept], factors[kept]).scores != pytest.approx(base.scores)


def test_shape_pairs_that_agree_more_get_more_units():
    strong = estimate_dimensions(*_pairs(3, shape_strength=3.0, texture_strength=0.2))
    weak = estimate_dimensions(*_pairs(3, shape_strength=0.2, texture_strength=3.0))
    assert strong.dims[0] > strong.dims[1] and weak.dims[1] > weak.dims[0]
    assert FACTOR_NAMES == ("shape", "texture", "residual")


def test_clear_errors():
    za, zb, factors = _pairs(1)
    with pytest.raises(ValueError, match="no texture pairs"):
        estimate_dimensions(za, zb, np.where(factors == 1, 0, factors))
    with pytest.raises(ValueError, match="no shape pairs"):
        estimate_dimensions(za, zb, np.ones(len(za), int))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        estimate_dimensions(za, zb[:, :3], factors)
    with pytest.raises(ValueError, match="one per pair"):
        estimate_dimensions(za, zb, factors[:-1])
    with pytest.raises(ValueError, match="variance 0"):
        estimate_dimensions(np.ones((4, 3)), np.ones((4, 3)), [0, 1, 0, 1])


# --- what published numbers must satisfy -------------------------------------------------------------

#: ResNet-50, last stage (2048 units), Stylized-VOC: (shape, texture) units as issue #35 quotes
#: Islam et al. (2021) for ImageNet- and Stylized-ImageNet-trained weights. Their Table 3 (per-stage
#: percentages) could not be read from any source available here, so it is not restated.
PUBLISHED_UNITS = {"resnet50-IN": (349, 692), "resnet50-SIN": (536, 477)}

#: Brain-Score's Islam2021 test (brainscore_vision/benchmarks/islam2021/test.py): AlexNet classifier.5
#: (4096 units), shape and texture shares printed to 8 decimals.
BRAIN_SCORE_SHARES = {"shape": 0.18310547, "texture": 0.30834961}


def test_published_shares_are_whole_units_of_the_layer():
    """The estimator's output is a whole number of units k of a layer of D: any share it prints is
    k / D (Brain-Score) and any percentage round(100 k / D, 1)."""
    for name, share in BRAIN_SCORE_SHARES.items():
        k = round(share * 4096)
        assert abs(share - k / 4096) < 5e-9, name
    assert [round(BRAIN_SCORE_SHARES[n] * 4096) for n in ("shape", "texture")] == [750, 1263]
    assert 0.18310547 != pytest.approx(751 / 4096, abs=5e-9)  # the check can fail: one unit more is off


@pytest.mark.parametrize("name", sorted(PUBLISHED_UNITS))
def test_published_units_are_reachable_and_the_scores_they_imply(name):
    """With the residual's score fixed at 1, published counts pin the two scores down: scores that put
    the shape and texture shares in the middle of their units, k + 1/2 (the residual then gets
    k_residual - 1 before taking the remainder), are s_f = 1 + log((k_f + 1/2) / (k_residual - 1)).
    Features built to have those scores give back exactly the published counts."""
    shape, texture = PUBLISHED_UNITS[name]
    width = 2048
    residual = width - shape - texture
    targets = [1 + math.log((k + 0.5) / (residual - 1)) for k in (shape, texture)]
    za, zb, factors = _features_with_scores(targets[0], targets[1], width)
    scores, dims, percent = estimate_dimensions(za, zb, factors)
    assert scores[:2] == pytest.approx(targets, abs=1e-9)
    assert dims[:2] == (shape, texture) and dims[2] == residual
    assert percent == {"resnet50-IN": (17.0, 33.8, 49.2), "resnet50-SIN": (26.2, 23.3, 50.5)}[name]
    if name == "resnet50-IN":
        assert targets[0] < 0 < targets[1]  # fewer shape than texture units: a negative shape score
    else:
        assert targets[0] > targets[1]


def _features_with_scores(shape_score: float, texture_score: float, width: int):
    """Six pairs, every unit alike, whose estimator scores are the given numbers. Shape pairs
    (a, r a) and (-a, -r a), texture pairs (b, q b) and (-b, -q b), variance-only pairs (c, c) and
    (-c, -c), with r, q = +-1: every mean is 0, the covariances are r a^2 and q b^2 and the total
    variance per unit (4 a^2 + 4 b^2 + 4 c^2) / 12, which a^2 + b^2 + c^2 = 3 makes 1."""
    a, b = math.sqrt(abs(shape_score)), math.sqrt(abs(texture_score))
    c = math.sqrt(3 - a * a - b * b)
    r, q = math.copysign(1, shape_score), math.copysign(1, texture_score)
    first = np.array([a, -a, b, -b, c, -c])
    second = np.array([r * a, -r * a, q * b, -q * b, c, -c])
    factors = np.array([0, 0, 1, 1, 2, 2])
    return np.repeat(first[:, None], width, axis=1), np.repeat(second[:, None], width, axis=1), factors

import numpy as np
import pytest
import torch

from adain.core.functional import EPS, adain_with_stats, adaptive_instance_normalization, calc_mean_std


def test_mean_std_is_unbiased_with_eps_inside_the_sqrt():
    feat = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    mean, std = calc_mean_std(feat)
    flat = feat.numpy().reshape(2, 3, -1)
    np.testing.assert_allclose(mean.numpy().reshape(2, 3), flat.mean(axis=2))
    np.testing.assert_allclose(std.numpy().reshape(2, 3), np.sqrt(flat.var(axis=2, ddof=1) + EPS))


def test_adain_gives_the_style_statistics():
    content = torch.randn(2, 512, 6, 9, dtype=torch.float64) * 3 + 1
    style = torch.randn(2, 512, 4, 4, dtype=torch.float64) * 0.5 - 2
    out = adaptive_instance_normalization(content, style)
    out_mean, out_std = calc_mean_std(out, eps=0)
    s_mean, s_std = calc_mean_std(style)
    c_std = calc_mean_std(content)[1]
    torch.testing.assert_close(out_mean, s_mean)
    # out = (c - mu_c) / sqrt(var_c + eps) * sigma_s: its std is sigma_s * sqrt(var_c / (var_c + eps))
    torch.testing.assert_close(out_std, s_std * torch.sqrt((c_std**2 - EPS) / c_std**2))


def test_alpha_blends_in_feature_space():
    content, style = torch.randn(1, 8, 4, 4), torch.randn(1, 8, 3, 3)
    full = adaptive_instance_normalization(content, style)
    torch.testing.assert_close(adaptive_instance_normalization(content, style, alpha=0.0), content)
    torch.testing.assert_close(adaptive_instance_normalization(content, style, alpha=0.3), 0.3 * full + 0.7 * content)


def test_stats_may_be_flat_or_4d():
    content, style = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 3, 3)
    mean, std = calc_mean_std(style)
    torch.testing.assert_close(
        adain_with_stats(content, mean, std), adain_with_stats(content, mean.flatten(1), std.flatten(1))
    )


@pytest.mark.parametrize("shape", [(8, 4, 4), (1, 8, 1, 1)])
def test_bad_feature_shapes_raise(shape):
    with pytest.raises(ValueError):
        calc_mean_std(torch.randn(*shape))


def test_alpha_out_of_range_raises():
    with pytest.raises(ValueError, match="alpha"):
        adain_with_stats(torch.randn(1, 2, 3, 3), torch.zeros(1, 2), torch.ones(1, 2), alpha=1.5)

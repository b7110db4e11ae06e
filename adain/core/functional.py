"""AdaIN tensor math, exactly as the reference (Huang & Belongie 2017; naoto0804/pytorch-AdaIN).

Pure functions without state: nothing here knows about networks, files or devices.
"""

from __future__ import annotations

import torch

__all__ = ["calc_mean_std", "adaptive_instance_normalization", "adain_with_stats", "match_color", "EPS"]

#: Added to the (unbiased) variance before the square root, as in the reference.
EPS = 1e-5


def _check_features(feat: torch.Tensor, name: str) -> None:
    if feat.dim() != 4:
        raise ValueError(f"{name} must be a (B, C, H, W) tensor, got shape {tuple(feat.shape)}")
    if feat.shape[2] * feat.shape[3] < 2:
        raise ValueError(
            f"{name} has a single spatial position {tuple(feat.shape)}: the unbiased variance "
            "is undefined; the image is too small for the relu4_1 encoder"
        )


def calc_mean_std(feat: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and std over H*W.

    Args:
        feat: features ``(B, C, H, W)``.
        eps: added to the unbiased variance before the square root.

    Returns:
        ``(mean, std)``, each ``(B, C, 1, 1)``, in ``feat``'s dtype.

    Example:
        >>> mean, std = calc_mean_std(torch.ones(2, 3, 4, 4))
        >>> mean.shape, float(std.max())
        (torch.Size([2, 3, 1, 1]), 0.0031622776...)
    """
    _check_features(feat, "feat")
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    std = (flat.var(dim=2) + eps).sqrt().view(b, c, 1, 1)
    mean = flat.mean(dim=2).view(b, c, 1, 1)
    return mean, std


def adain_with_stats(
    content_feat: torch.Tensor,
    style_mean: torch.Tensor,
    style_std: torch.Tensor,
    alpha: float = 1.0,
) -> torch.Tensor:
    """AdaIN of content features towards given style statistics, blended in feature space.

    Args:
        content_feat: ``(B, C, H, W)`` content features.
        style_mean: ``(B, C)`` or ``(B, C, 1, 1)`` style means (one painting per sample).
        style_std: same shape as ``style_mean``.
        alpha: 1 is full stylization, 0 returns ``content_feat``; the result is
            ``alpha * adain(c, s) + (1 - alpha) * c``.

    Returns:
        ``(B, C, H, W)`` features.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    b, c = content_feat.shape[:2]
    # statistics and normalisation in float32 even under half-precision autocast (a no-op in float32)
    dtype, features = content_feat.dtype, content_feat.float()
    style_mean = style_mean.reshape(b, c, 1, 1).float()
    style_std = style_std.reshape(b, c, 1, 1).float()
    content_mean, content_std = calc_mean_std(features)
    stylized = (features - content_mean) / content_std * style_std + style_mean
    if alpha != 1.0:
        stylized = alpha * stylized + (1 - alpha) * features
    return stylized.to(dtype)


def adaptive_instance_normalization(
    content_feat: torch.Tensor, style_feat: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """AdaIN of ``content_feat`` ``(B, C, H, W)`` with the statistics of ``style_feat`` ``(B, C, h, w)``."""
    _check_features(style_feat, "style_feat")
    mean, std = calc_mean_std(style_feat)
    return adain_with_stats(content_feat, mean, std, alpha)


def _spd_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """``matrix ** power`` of symmetric positive definite ``(B, n, n)`` matrices (eigen-decomposition)."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag_embed(values.clamp_min(torch.finfo(values.dtype).tiny) ** power) @ vectors.mT


def match_color(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """pytorch-AdaIN's colour preservation (``--preserve_color``, its ``coral``): the painting
    gets the content's colour mean and covariance before it is encoded.

    Per sample, each image's colours are standardised per channel (mean, unbiased std); the
    painting's standardised colours are whitened by the inverse square root of their scatter
    matrix plus the identity, coloured by the square root of the content's, and given the
    content's channel means and stds. Not clipped (as the reference).

    Args:
        style: ``(B, 3, H, W)`` paintings in [0, 1]; content: ``(B, 3, h, w)`` contents in [0, 1].

    Returns:
        ``(B, 3, H, W)`` float32 (the 3x3 algebra in float64).
    """
    if style.dim() != 4 or content.dim() != 4 or style.shape[:2] != content.shape[:2] or style.shape[1] != 3:
        raise ValueError(
            f"match_color needs (B, 3, H, W) paintings and contents, got {tuple(style.shape)} "
            f"and {tuple(content.shape)}"
        )

    def standardised(images: torch.Tensor):
        flat = images.double().flatten(2)  # (B, 3, N)
        mean, std = flat.mean(dim=2, keepdim=True), flat.std(dim=2, keepdim=True)
        normalised = (flat - mean) / std
        scatter = normalised @ normalised.mT + torch.eye(3, dtype=flat.dtype, device=flat.device)
        return normalised, mean, std, scatter

    normalised, _, _, style_scatter = standardised(style)
    _, content_mean, content_std, content_scatter = standardised(content)
    transfer = _spd_power(content_scatter, 0.5) @ _spd_power(style_scatter, -0.5) @ normalised
    return (transfer * content_std + content_mean).reshape(style.shape).float()

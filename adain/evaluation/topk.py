"""Top-K activation sparsity at inference (Li et al., NeurIPS 2023, "Emergence of shape bias in
convolutional neural networks through activation sparsity").

After chosen layers, each sample's each channel keeps only its ``k`` fraction of spatial positions
with the largest absolute activation (at least one) and zeroes the rest. The layers are addressed by
their ``named_modules`` names and the sparsity is applied by forward hooks, so any architecture
works and the weights are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["TOPK_PRESETS", "topk_mask", "topk_spatial", "topk_layers", "sparsified"]

#: The published insertion points for torchvision's models: after every max-pool of VGG-16, and
#: after AlexNet's two first max-pools, the third and fourth conv ReLUs and the last max-pool
#: (the authors' ``network_architecture.txt``).
TOPK_PRESETS: dict[str, tuple[str, ...]] = {
    "alexnet": ("features.2", "features.5", "features.7", "features.9", "features.12"),
    "vgg16": ("features.4", "features.9", "features.16", "features.23", "features.30"),
}


def topk_mask(x: torch.Tensor, k: float) -> torch.Tensor:
    """The Top-K mask: per sample and channel, 1 at the ``max(1, int(k * H * W))`` spatial
    positions of largest absolute value, 0 elsewhere. The project's one Top-K definition, used at
    inference (:func:`topk_spatial`) and in texture synthesis and feature reconstruction
    (:mod:`adain.evaluation.synthesis`); the same as Li et al.'s ``sparse_hw``.

    Ties: exactly that many positions are kept per channel, also when several positions share the
    boundary value; which of the tied positions is kept is ``torch.topk``'s choice (unspecified).
    Behind a ReLU the usual ties are exact zeros, where the choice does not change ``x * mask``.
    The count is the float product ``(k * H) * W`` rounded down, as the authors' code: 46 for k = 0.47
    on 10 x 10 (``0.47 * 10 * 10 == 46.99999999999999``).

    Args:
        x: ``(N, C, H, W)`` activations (any float dtype, any device).
        k: the fraction in ``(0, 1]``; 1 keeps every position.

    Returns:
        ``(N, C, H, W)`` of ``x``'s dtype and device, 1.0 where kept and 0.0 elsewhere; no gradient
        flows through the mask itself. The non-Top-K mask is ``1 - topk_mask(x, k)``.

    Example:
        >>> topk_mask(torch.tensor([[[[3.0, -5.0], [1.0, 0.0]]]]), 0.5)
        tensor([[[[1., 1.],
                  [0., 0.]]]])
    """
    if x.ndim != 4:
        raise ValueError(f"Top-K expects (N, C, H, W) activations, got shape {tuple(x.shape)}")
    if not 0 < k <= 1:
        raise ValueError(f"Top-K fraction must be in (0, 1], got {k}")
    n, c, h, w = x.shape
    keep = max(1, int(k * h * w))
    if keep >= h * w:
        return torch.ones_like(x)
    flat = x.detach().reshape(n, c, h * w)
    index = flat.abs().topk(keep, dim=2).indices
    return torch.zeros_like(flat).scatter_(2, index, 1.0).reshape(n, c, h, w)


def topk_spatial(x: torch.Tensor, fraction: float) -> torch.Tensor:
    """Keep the top ``fraction`` of spatial positions per sample and channel, by absolute value.

    Args:
        x: ``(N, C, H, W)`` activations.
        fraction: in ``(0, 1]``; ``max(1, floor(fraction * H * W))`` positions are kept per channel
            (1 keeps every value), as :func:`topk_mask` chooses them.

    Returns:
        ``(N, C, H, W)``: ``x`` where kept, 0 elsewhere.
    """
    return x * topk_mask(x, fraction)


def topk_layers(model: nn.Module, layers: str | Sequence[str]) -> list[str]:
    """Resolve a preset name (``alexnet``, ``vgg16``) or a list of module names; check they exist."""
    names = (
        list(TOPK_PRESETS[layers])
        if isinstance(layers, str) and layers in TOPK_PRESETS
        else ([layers] if isinstance(layers, str) else list(layers))
    )
    modules = dict(model.named_modules())
    missing = [name for name in names if name not in modules]
    if missing:
        hint = ", ".join(name for name in modules if name)[:400]
        raise ValueError(f"no module named {', '.join(missing)} in this model for Top-K; modules are: {hint}, ...")
    if not names:
        raise ValueError("Top-K needs at least one layer")
    return names


@contextmanager
def sparsified(model: nn.Module, layers: str | Sequence[str], fraction: float) -> Iterator[nn.Module]:
    """Within the block, the outputs of ``layers`` (a preset name or module names) pass through
    :func:`topk_spatial` with ``fraction``. The hooks are removed on exit."""
    if not 0 < fraction <= 1:
        raise ValueError(f"Top-K fraction must be in (0, 1], got {fraction}")
    modules = dict(model.named_modules())

    def hook(_module, _inputs, output):
        return topk_spatial(output, fraction)

    handles = [modules[name].register_forward_hook(hook) for name in topk_layers(model, layers)]
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()

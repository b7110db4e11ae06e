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

__all__ = ["TOPK_PRESETS", "topk_spatial", "topk_layers", "sparsified"]

#: The published insertion points for torchvision's models: after every max-pool of VGG-16, and
#: after AlexNet's two first max-pools, the third and fourth conv ReLUs and the last max-pool
#: (the authors' ``network_architecture.txt``).
TOPK_PRESETS: dict[str, tuple[str, ...]] = {
    "alexnet": ("features.2", "features.5", "features.7", "features.9", "features.12"),
    "vgg16": ("features.4", "features.9", "features.16", "features.23", "features.30"),
}


def topk_spatial(x: torch.Tensor, fraction: float) -> torch.Tensor:
    """Keep the top ``fraction`` of spatial positions per sample and channel, by absolute value.

    Args:
        x: ``(N, C, H, W)`` activations.
        fraction: in ``(0, 1]``; ``max(1, floor(fraction * H * W))`` positions are kept per channel
            (1 returns ``x`` unchanged).

    Returns:
        ``(N, C, H, W)``: ``x`` where kept, 0 elsewhere.
    """
    if x.ndim != 4:
        raise ValueError(f"Top-K expects (N, C, H, W) activations, got shape {tuple(x.shape)}")
    if not 0 < fraction <= 1:
        raise ValueError(f"Top-K fraction must be in (0, 1], got {fraction}")
    n, c, h, w = x.shape
    keep = max(1, int(fraction * h * w))
    if keep >= h * w:
        return x
    flat = x.reshape(n, c, h * w)
    index = flat.abs().topk(keep, dim=2).indices
    mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(2, index, True)
    return (flat * mask).reshape(n, c, h, w)


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

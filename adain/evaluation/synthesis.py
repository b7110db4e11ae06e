"""What Top-K neurons see: texture synthesis and feature reconstruction through Top-K masks.

Li, Wen, Li and Lee (NeurIPS 2023, "Emergence of shape bias in convolutional neural networks
through activation sparsity", Figures 2 and 3) optimise an image so that a network's responses
match a target image's, counting only the Top-K, only the non-Top-K, or all responses:

* texture (Gatys et al. 2015): at each loss layer ``l`` with responses ``F`` ``(1, C, H, W)`` and
  mask ``M`` (:func:`select_mask`, of ``F`` itself), the Gram matrix
  ``G = (F*M)(F*M)^T / (C*H*W)`` over the ``H*W`` positions; the loss is
  ``sum_l (w_l / 4) * sum((G_l(image) - G_l(target))^2)``. The image's mask is recomputed from its
  own responses at every evaluation.
* reconstruct: ``sum_l (w_l / 4) * sum((F_l(image) - M_l*F_l(target))^2)``: the target's responses
  masked, the image's not.

Masks enter the loss only: deeper layers see unmasked responses. The image is parametrised as
``lo + (hi - lo) * sigmoid(z)`` over the target's value range ``[lo, hi]``; ``z`` starts from seeded
standard normal noise (in the network's input units, clamped to the range) and is optimised by
L-BFGS with a strong-Wolfe line search, both tolerances 0 and ``max_iter`` iterations per step.
``z`` and so L-BFGS's own arithmetic are float64 whatever the network's dtype (the authors': float32):
the line search squares directional derivatives, which overflow float32 for large losses
(random stand-in weights reach 1e16) and turn the image into NaN.
Restated from the authors' code (Crazy-Jack/nips2023_shape_vs_texture, folders
``texture-synthesis-visualization`` and ``topk-neurons-visualization-supp``); docs/synthesis.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .settings import MASKS, TASK_DEFAULTS, TASKS
from .topk import topk_mask

__all__ = [
    "LAYER_WEIGHT",
    "select_mask",
    "gram_matrix",
    "layer_outputs",
    "synthesis_targets",
    "synthesis_loss",
    "start_point",
    "image_of",
    "synthesize",
]

#: The authors' weight of every loss layer.
LAYER_WEIGHT = 1e9

#: ``progress(step, loss, evaluations)`` after each outer step: the step (1-based), the loss at the
#: image after it, and the loss evaluations (forward and backward passes) so far.
Progress = Callable[[int, float, int], None]


def select_mask(x: torch.Tensor, mask: str, k: float) -> torch.Tensor:
    """``(N, C, H, W)`` responses -> their 0/1 mask: ``all`` (ones), ``topk``
    (:func:`adain.evaluation.topk.topk_mask` with fraction ``k``) or ``nontopk`` (one minus it)."""
    if mask == "all":
        return torch.ones_like(x)
    if mask == "topk":
        return topk_mask(x, k)
    if mask == "nontopk":
        return 1.0 - topk_mask(x, k)
    raise ValueError(f"mask must be one of {', '.join(MASKS)}, got {mask!r}")


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, C)``: channel products summed over positions, divided by
    ``C * H * W`` (Gatys et al.'s normalisation as the authors code it, per sample)."""
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def layer_outputs(net: nn.Sequential, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
    """The outputs of ``net[i]`` for each ``i`` of ``layers`` (in that order), running ``net`` only
    as far as the deepest. A collected output is not changed by an in-place layer after it."""
    wanted = set(layers)
    found: dict[int, torch.Tensor] = {}
    for i, layer in enumerate(net):
        if i - 1 in wanted and getattr(layer, "inplace", False):
            x = x.clone()
        x = layer(x)
        if i in wanted:
            found[i] = x
        if len(found) == len(wanted):
            break
    return [found[i] for i in layers]


def _check(net: nn.Sequential, layers: Sequence[int], task: str, mask: str, k: float) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if mask not in MASKS:
        raise ValueError(f"mask must be one of {', '.join(MASKS)}, got {mask!r}")
    if not 0 < k <= 1:
        raise ValueError(f"Top-K fraction k must be in (0, 1], got {k}")
    if not layers:
        raise ValueError("no loss layers given")
    bad = [i for i in layers if not 0 <= i < len(net)]
    if bad:
        raise ValueError(f"loss layers {bad} are not positions of this network (0..{len(net) - 1})")


def _weights(weights: float | Sequence[float], layers: Sequence[int]) -> list[float]:
    if isinstance(weights, int | float):
        return [float(weights)] * len(layers)
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} layer weights for {len(layers)} loss layers")
    return [float(w) for w in weights]


def synthesis_targets(
    net: nn.Sequential, layers: Sequence[int], target: torch.Tensor, task: str, mask: str, k: float
) -> list[torch.Tensor]:
    """What the loss compares with, per loss layer: the Gram matrices ``(N, C, C)`` of the target's
    masked responses (texture) or the masked responses ``(N, C, H, W)`` (reconstruct)."""
    _check(net, layers, task, mask, k)
    with torch.no_grad():
        masked = [f * select_mask(f, mask, k) for f in layer_outputs(net, target, layers)]
    return [gram_matrix(f) for f in masked] if task == "texture" else masked


def synthesis_loss(
    net: nn.Sequential,
    layers: Sequence[int],
    image: torch.Tensor,
    targets: Sequence[torch.Tensor],
    task: str,
    mask: str,
    k: float,
    weights: float | Sequence[float] = LAYER_WEIGHT,
) -> torch.Tensor:
    """The scalar loss of ``image`` ``(N, 3, H, W)`` against :func:`synthesis_targets`: the sum over
    layers of ``w / 4`` times the summed squared difference of Gram matrices (texture; the image's
    responses masked by their own mask) or of responses (reconstruct; the image's unmasked)."""
    total = image.new_zeros(())
    for w, f, t in zip(_weights(weights, layers), layer_outputs(net, image, layers), targets, strict=True):
        got = gram_matrix(f * select_mask(f, mask, k)) if task == "texture" else f
        total = total + (w / 4) * (got - t).pow(2).sum()
    return total


def start_point(target: torch.Tensor, seed: int) -> torch.Tensor:
    """The starting ``z`` (float64, on ``target``'s device): standard normal noise from a CPU
    generator seeded with ``seed`` (the same on every device), clamped to the target's range
    ``[lo, hi]`` and mapped through the inverse of ``lo + (hi - lo) * sigmoid(z)``. Noise at the
    range's ends is moved inside by float64's epsilon, so that ``z`` stays finite (a target
    spanning [0, 1] would otherwise give infinities)."""
    lo, hi = float(target.min()), float(target.max())
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    eps = torch.finfo(torch.float64).eps
    fraction = ((noise.clamp(lo, hi) - lo) / (hi - lo)).clamp(eps, 1 - eps)
    return torch.logit(fraction).to(target.device)


def image_of(z: torch.Tensor, lo: float, hi: float, dtype: torch.dtype) -> torch.Tensor:
    """The image ``lo + (hi - lo) * sigmoid(z)`` (computed in ``z``'s dtype) in ``dtype``."""
    return (lo + (hi - lo) * torch.sigmoid(z)).to(dtype)


def synthesize(
    net: nn.Sequential,
    layers: Sequence[int],
    target: torch.Tensor,
    task: str = "texture",
    mask: str = "all",
    k: float = 0.05,
    steps: int | None = None,
    max_iter: int = 20,
    lr: float | None = None,
    seed: int = 0,
    weights: float | Sequence[float] = LAYER_WEIGHT,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, list[float]]:
    """Synthesise a texture of, or reconstruct, ``target`` from the responses ``mask`` selects.

    Args:
        net: an ``nn.Sequential`` of VGG-like layers (e.g. :func:`adain.evaluation.gatys_vgg.gatys_vgg`'s
            ``net``) on ``target``'s device and dtype; its parameters are not changed.
        layers: positions in ``net`` whose outputs enter the loss (e.g. relu1_1, pool1-pool4).
        target: float ``(1, 3, H, W)`` in the network's input space.
        task: ``texture`` or ``reconstruct``.
        mask: ``all``, ``topk`` or ``nontopk``; ``k`` the Top-K fraction in ``(0, 1]``.
        steps: outer L-BFGS steps (default: 100 for texture, 1 for reconstruct, the authors'); 0
            returns the start.
        max_iter: L-BFGS iterations per step (20).
        lr: L-BFGS learning rate (default: 1 for texture, 10 for reconstruct, the authors').
        seed: the starting noise (:func:`start_point`).
        weights: one weight per loss layer, or one for all (the authors': 1e9).
        progress: called after each step (:data:`Progress`).

    Returns:
        ``(image, losses)``: ``image`` ``(1, 3, H, W)``, the optimised image in the network's input
        space (before any histogram matching), detached; ``losses[0]`` the loss at the starting
        image and ``losses[i]`` the loss after step ``i`` (``steps + 1`` floats).

    Deterministic on the CPU for a given seed (same threads, same torch).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2))
        >>> image, losses = synthesize(net, [1, 2], torch.rand(1, 3, 8, 8), "reconstruct", "topk", 0.25)
        >>> image.shape, len(losses)
        (torch.Size([1, 3, 8, 8]), 2)
    """
    _check(net, layers, task, mask, k)
    if target.ndim != 4 or target.shape[:2] != (1, 3) or not target.is_floating_point():
        raise ValueError(f"target must be a float (1, 3, H, W) tensor, got {target.dtype} {tuple(target.shape)}")
    parameter = next(net.parameters(), None)
    if parameter is not None and (parameter.dtype, parameter.device) != (target.dtype, target.device):
        raise ValueError(
            f"the network is {parameter.dtype} on {parameter.device} but the target {target.dtype} on "
            f"{target.device}: move one to the other"
        )
    steps = TASK_DEFAULTS[task]["steps"] if steps is None else int(steps)
    lr = TASK_DEFAULTS[task]["lr"] if lr is None else float(lr)
    if steps < 0 or max_iter < 1 or lr <= 0:
        raise ValueError(f"need steps >= 0, max_iter >= 1 and lr > 0, got {steps}, {max_iter}, {lr}")
    lo, hi = float(target.min()), float(target.max())
    if not hi > lo:
        raise ValueError("the target is one constant value: there is nothing to synthesise")
    targets = synthesis_targets(net, layers, target, task, mask, k)
    z = start_point(target, seed).requires_grad_(True)

    def loss_at(z: torch.Tensor) -> torch.Tensor:
        return synthesis_loss(net, layers, image_of(z, lo, hi, target.dtype), targets, task, mask, k, weights)

    evaluations = 0

    def closure() -> torch.Tensor:
        nonlocal evaluations
        optimizer.zero_grad()
        loss = loss_at(z)
        loss.backward(inputs=[z])  # the image only: no gradients for the network's parameters
        evaluations += 1
        return loss

    optimizer = torch.optim.LBFGS(
        [z], lr=lr, max_iter=max_iter, tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe"
    )
    with torch.no_grad():
        losses = [float(loss_at(z))]
    for step in range(1, steps + 1):
        optimizer.step(closure)
        with torch.no_grad():
            losses.append(float(loss_at(z)))
        if progress is not None:
            progress(step, losses[-1], evaluations)
    return image_of(z.detach(), lo, hi, target.dtype), losses

"""Gatys' normalised VGG-19 for texture synthesis, built from the pytorch-AdaIN release file.

Li et al. (NeurIPS 2023) synthesise textures and reconstruct images with the network of Gatys,
Ecker and Bethge (2015): the VGG-19 ``features`` with weights rescaled so that each filter's mean
activation over ImageNet is 1 (bethgelab's ``vgg_normalised.caffemodel``), 3x3 convolutions with
zero padding 1, every max-pool replaced by a 2x2 average pool (stride 2, rounding down), and
Caffe-style input: BGR, 0-255, the mean pixel (B, G, R) = (103.939, 116.779, 123.68) subtracted.
Their PyTorch copy of it (honzukka/texture-synthesis-pytorch's conversion of the Caffe file, kept in
Git LFS) is a separate download this module does without.

The release file this project already uses, ``vgg_normalised.pth`` (naoto0804/pytorch-AdaIN, a
conversion of AdaIN's ``vgg_normalised.t7``), holds normalised VGG-19 convolutions up to conv5_4
(bethgelab's, as AdaIN's ports report; not checked against the Caffe file here), preceded by a 1x1 convolution that performs the Caffe input conversion on RGB in [0, 1]
(``255 * x`` with R and B swapped, the mean pixel as its bias); AdaIN runs it with reflection
padding and max pools (``ceil_mode=True``). :func:`gatys_vgg` takes its convolutions and builds
the authors' network (zero padding, average pools) or, on request, the release's own; the 1x1
convolution becomes :meth:`GatysVGG.to_input` / :meth:`GatysVGG.to_rgb`, so the network's input
is Caffe space, as the authors'. docs/synthesis.md says what is and is not the same.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..core.model import VGG_LAYERS, WeightsError, is_random_standin, load_state_dict_file

__all__ = ["GATYS_LAYERS", "PADDINGS", "POOLINGS", "GatysVGG", "vgg19_layer_names", "gatys_vgg"]

#: The layers whose responses Li et al. (after Gatys et al.) put in the loss.
GATYS_LAYERS = ("relu1_1", "pool1", "pool2", "pool3", "pool4")
PADDINGS = ("zero", "reflect")
POOLINGS = ("avg", "max")


def vgg19_layer_names() -> list[str]:
    """``conv1_1, relu1_1, conv1_2, ..., pool5``: the 37 layers of VGG-19's ``features`` in order
    (their positions are torchvision's ``vgg19().features`` indices)."""
    names = []
    for block, repeats in enumerate((2, 2, 4, 4, 4), start=1):
        for i in range(1, repeats + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def _release_convs() -> dict[str, int]:
    """VGG-19 conv name -> its index in the release file (``<index>.weight``), from the project's
    layer table (:data:`adain.core.model.VGG_LAYERS`: the 1x1 conv, then pad/conv/relu rows)."""
    convs, pending = {}, None
    for index, (kind, *args) in enumerate(VGG_LAYERS):
        if kind == "conv" and args[2] == 3:
            pending = index
        elif kind == "relu":
            convs["conv" + args[0].removeprefix("relu")] = pending
    return convs


@dataclass(frozen=True)
class GatysVGG:
    """The network and its input conversion.

    Attributes:
        net: ``nn.Sequential`` of named layers (``conv1_1``, ``relu1_1``, ..., up to ``last``);
            input ``(N, 3, H, W)`` in Caffe space (BGR, 0-255, mean pixel subtracted).
        layers: layer name -> its index in ``net``.
        matrix: ``(3, 3)``, and ``offset``: ``(3,)``: the release file's 1x1 convolution,
            ``caffe = matrix @ rgb + offset`` per pixel.
        padding, pooling: what the network was built with (``zero``/``reflect``, ``avg``/``max``).
        random_standin: the file holds random stand-ins (:func:`adain.core.weights.write_random_weights`).
    """

    net: nn.Sequential
    layers: dict[str, int]
    matrix: torch.Tensor
    offset: torch.Tensor
    padding: str
    pooling: str
    random_standin: bool = False

    def indices(self, names: Sequence[str] = GATYS_LAYERS) -> list[int]:
        """The positions in :attr:`net` of the layers ``names`` (by default the authors' five)."""
        unknown = [name for name in names if name not in self.layers]
        if unknown:
            raise ValueError(f"no layer {', '.join(unknown)} in this network; layers: {', '.join(self.layers)}")
        return [self.layers[name] for name in names]

    def to_input(self, rgb: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` RGB in [0, 1] -> the network's input (Caffe space), as the 1x1 conv."""
        matrix, offset = self.matrix.to(rgb), self.offset.to(rgb)
        return torch.einsum("oc,nchw->nohw", matrix, rgb) + offset.view(1, 3, 1, 1)

    def to_rgb(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`to_input`: network input ``(N, 3, H, W)`` -> RGB (not clamped)."""
        matrix, offset = self.matrix.to(x), self.offset.to(x)
        return torch.einsum("oc,nchw->nohw", torch.linalg.inv(matrix), x - offset.view(1, 3, 1, 1))

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> GatysVGG:
        """This network on ``device`` in ``dtype`` (the conversion's tensors stay float64-exact on
        the CPU and follow the images they convert)."""
        return dataclasses.replace(self, net=self.net.to(device=device, dtype=dtype))


def gatys_vgg(
    vgg_path: str | Path, padding: str = "zero", pooling: str = "avg", last: str = GATYS_LAYERS[-1]
) -> GatysVGG:
    """Build the normalised VGG-19 of the texture-synthesis papers from ``vgg_normalised.pth``.

    Args:
        vgg_path: the pytorch-AdaIN release file (or random stand-ins in its format).
        padding: ``zero`` (Gatys' Caffe network and the authors': default) or ``reflect``
            (how AdaIN runs the release file).
        pooling: ``avg`` (2x2 average pools rounding down: Gatys' texture network and the authors':
            default) or ``max`` (the release's 2x2 max pools, ``ceil_mode=True``).
        last: the last layer kept (e.g. ``pool4``, which the authors' loss needs; at most ``pool5``).

    Returns:
        :class:`GatysVGG` in eval mode, parameters frozen, float32 on the CPU.

    Raises:
        WeightsError: the file is missing, unreadable, not the release VGG, lacks a layer up to
            ``last`` (a file cut at relu4_1 cannot make pool4), or its input conversion is singular.
        ValueError: an unknown ``padding``, ``pooling`` or ``last``.
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    names = vgg19_layer_names()
    if last not in names:
        raise ValueError(f"no VGG-19 layer {last!r}; layers: {', '.join(names)}")
    names = names[: names.index(last) + 1]
    state = load_state_dict_file(vgg_path, "vgg")
    convs = _release_convs()
    missing = [f"{convs[n]}.weight ({n})" for n in names if n.startswith("conv") and f"{convs[n]}.weight" not in state]
    if missing:
        raise WeightsError(
            f"{vgg_path}: the network up to {last} needs {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}, "
            "which this file lacks; the full release vgg_normalised.pth holds VGG-19 to relu5_4"
        )
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for name in names:
        if name.startswith("conv"):
            weight, bias = state[f"{convs[name]}.weight"], state[f"{convs[name]}.bias"]
            conv = nn.Conv2d(
                weight.shape[1], weight.shape[0], 3, padding=1, padding_mode="zeros" if padding == "zero" else "reflect"
            )
            conv.load_state_dict({"weight": weight, "bias": bias})
            layers[name] = conv
        elif name.startswith("relu"):
            layers[name] = nn.ReLU()
        else:
            layers[name] = nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2, ceil_mode=True)
    matrix = state["0.weight"].reshape(3, 3).double()
    if abs(float(torch.linalg.det(matrix))) < 1e-12:
        raise WeightsError(f"{vgg_path}: its input conversion (the first 1x1 convolution) is not invertible")
    return GatysVGG(
        net=nn.Sequential(layers).eval().requires_grad_(False),
        layers={name: i for i, name in enumerate(names)},
        matrix=matrix,
        offset=state["0.bias"].double(),
        padding=padding,
        pooling=pooling,
        random_standin=is_random_standin(state),
    )

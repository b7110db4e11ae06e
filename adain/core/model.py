"""The AdaIN networks: normalised VGG-19 encoder cut at relu4_1 and the standard decoder.

The architectures are written as data (layer lists) whose ``nn.Sequential`` indices match the
state_dict keys of the pytorch-AdaIN release files ``vgg_normalised.pth`` and ``decoder.pth``,
so published weights load unchanged. Files are recognised by their tensor shapes, never by name.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..files.hashing import file_sha256
from .functional import adain_with_stats

__all__ = [
    "ENCODER_CUT",
    "VGG_LAYERS",
    "DECODER_LAYERS",
    "WeightsError",
    "build_vgg",
    "build_decoder",
    "expected_shapes",
    "load_state_dict_file",
    "AdaIN",
    "load_adain",
]

#: The encoder ends after this VGG layer (the reference's ``enc_layers[:31]``).
ENCODER_CUT = "relu4_1"


def _vgg_spec() -> list[tuple]:
    """The normalised VGG-19 to relu5_4 as ``(kind, *args)`` rows; relu rows carry their name."""
    layers: list[tuple] = [("conv", 3, 3, 1)]  # 1x1 conv: Caffe-style BGR/mean preprocessing
    blocks = [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)]
    channels = 3
    for block, (width, repeats) in enumerate(blocks, start=1):
        if block > 1:
            layers.append(("pool",))
        for i in range(1, repeats + 1):
            layers += [("pad",), ("conv", channels, width, 3), ("relu", f"relu{block}_{i}")]
            channels = width
    return layers


def _decoder_spec() -> list[tuple]:
    """The AdaIN decoder (mirror of the encoder to relu4_1) as ``(kind, *args)`` rows."""
    convs = [
        (512, 256),
        "up",
        (256, 256),
        (256, 256),
        (256, 256),
        (256, 128),
        "up",
        (128, 128),
        (128, 64),
        "up",
        (64, 64),
        (64, 3),
    ]
    layers: list[tuple] = []
    for i, item in enumerate(convs):
        if item == "up":
            layers.append(("up",))
            continue
        layers += [("pad",), ("conv", item[0], item[1], 3)]
        if i < len(convs) - 1:
            layers.append(("relu", None))
    return layers


VGG_LAYERS: list[tuple] = _vgg_spec()
DECODER_LAYERS: list[tuple] = _decoder_spec()


def _build(spec: list[tuple]) -> nn.Sequential:
    modules: list[nn.Module] = []
    for kind, *args in spec:
        if kind == "conv":
            c_in, c_out, k = args
            modules.append(nn.Conv2d(c_in, c_out, (k, k)))
        elif kind == "pad":
            modules.append(nn.ReflectionPad2d((1, 1, 1, 1)))
        elif kind == "relu":
            modules.append(nn.ReLU())
        elif kind == "pool":
            modules.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
        elif kind == "up":
            modules.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:  # pragma: no cover - the specs above are fixed
            raise ValueError(kind)
    return nn.Sequential(*modules)


def _cut_index(spec: list[tuple], name: str) -> int:
    """Number of layers up to and including the relu called ``name``."""
    for i, (kind, *args) in enumerate(spec):
        if kind == "relu" and args[0] == name:
            return i + 1
    raise ValueError(f"no layer named {name!r}")


def build_vgg(cut: str | None = None) -> nn.Sequential:
    """The normalised VGG-19, whole (to relu5_4) or cut after the relu named ``cut``."""
    spec = VGG_LAYERS if cut is None else VGG_LAYERS[: _cut_index(VGG_LAYERS, cut)]
    return _build(spec)


def build_decoder() -> nn.Sequential:
    """The standard AdaIN decoder: ``(B, 512, h, w)`` relu4_1 features -> ``(B, 3, 8h, 8w)``."""
    return _build(DECODER_LAYERS)


def expected_shapes(spec: list[tuple]) -> dict[str, tuple[int, ...]]:
    """state_dict key -> tensor shape for a layer spec (the release files' exact keys)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (kind, *args) in enumerate(spec):
        if kind == "conv":
            c_in, c_out, k = args
            shapes[f"{i}.weight"] = (c_out, c_in, k, k)
            shapes[f"{i}.bias"] = (c_out,)
    return shapes


class WeightsError(ValueError):
    """A weights file is missing, unreadable, or not the expected network."""


_KINDS = {
    "vgg": ("the normalised VGG-19 of pytorch-AdaIN (vgg_normalised.pth)", VGG_LAYERS),
    "decoder": ("the AdaIN decoder of pytorch-AdaIN (decoder.pth)", DECODER_LAYERS),
}


def _identify(state: dict[str, torch.Tensor]) -> str | None:
    """Which known network a state_dict looks like, by its first tensor's shape."""
    first = state.get("0.weight")
    if first is not None and tuple(first.shape) == (3, 3, 1, 1):
        return "vgg"
    first = state.get("1.weight")
    if first is not None and tuple(first.shape) == (256, 512, 3, 3):
        return "decoder"
    return None


def load_state_dict_file(path: str | Path, kind: str) -> dict[str, torch.Tensor]:
    """Load and check one release file.

    Args:
        path: a ``.pth`` file holding a plain state_dict.
        kind: ``"vgg"`` or ``"decoder"``.

    Returns:
        The state_dict. For ``vgg``, every layer up to relu4_1 must be present; later layers,
        when present, must have the release's shapes (the full file goes to relu5_4).

    Raises:
        WeightsError: naming the file and what was expected.
    """
    path = Path(path)
    what, spec = _KINDS[kind]
    if path.is_dir():
        raise WeightsError(f"{path}: is a folder, not a weights file; expected {what}")
    if not path.is_file():
        raise WeightsError(f"{path}: file not found (it does not exist); expected {what}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # pickled Python objects other than tensors: refused, never run
        raise WeightsError(
            f"{path}: holds pickled Python objects other than tensors, which are never loaded "
            f"(loading them could run code); expected {what}"
        ) from None
    except Exception as error:  # truncated, not a torch file, ...
        reason = str(error).split("\n")[0][:200]
        raise WeightsError(
            f"{path}: cannot be read as a state_dict ({type(error).__name__}: {reason}); expected {what}"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: does not hold a plain state_dict of tensors; expected {what}")
    found = _identify(state)
    if found != kind:
        other = f"it looks like {_KINDS[found][0]} (swapped files?)" if found else "its tensors match neither network"
        raise WeightsError(f"{path}: expected {what}, but {other}")
    shapes = expected_shapes(spec)
    required = expected_shapes(VGG_LAYERS[: _cut_index(VGG_LAYERS, ENCODER_CUT)]) if kind == "vgg" else shapes
    missing = sorted(set(required) - set(state), key=lambda k: int(k.split(".")[0]))
    unexpected = sorted(set(state) - set(shapes))
    wrong = [
        f"{key}: {tuple(state[key].shape)} instead of {shape}"
        for key, shape in shapes.items()
        if key in state and tuple(state[key].shape) != shape
    ]
    problems = []
    if missing:
        problems.append(f"missing tensors {missing[:6]}{' ...' if len(missing) > 6 else ''}")
    if unexpected:
        problems.append(f"unexpected tensors {unexpected[:6]}")
    if wrong:
        problems.append("wrong shapes " + "; ".join(wrong[:4]))
    if problems:
        raise WeightsError(f"{path}: not {what}: " + ", ".join(problems))
    return state


@dataclass(frozen=True)
class WeightsInfo:
    """Provenance of the loaded weight files."""

    vgg_path: str
    vgg_sha256: str
    decoder_path: str
    decoder_sha256: str
    #: written by :func:`adain.core.weights.write_random_weights`: outputs are not a real dataset
    random_standin: bool = False


class AdaIN(nn.Module):
    """Encoder (normalised VGG-19 to relu4_1) + AdaIN + decoder.

    Example:
        >>> model = AdaIN()                              # random weights
        >>> feats = model.encode(torch.rand(1, 3, 64, 64))
        >>> feats.shape
        torch.Size([1, 512, 8, 8])
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = build_vgg(cut=ENCODER_CUT)
        self.decoder = build_decoder()
        self.weights: WeightsInfo | None = None

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in [0, 1] -> ``(B, 512, ceil(H/8), ceil(W/8))`` relu4_1 features."""
        return self.encoder(images)

    def decode(self, feats: torch.Tensor) -> torch.Tensor:
        """``(B, 512, h, w)`` features -> ``(B, 3, 8h, 8w)`` images (not clamped)."""
        return self.decoder(feats)

    def forward(
        self,
        content: torch.Tensor,
        style_mean: torch.Tensor,
        style_std: torch.Tensor,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """Stylize ``content`` ``(B, 3, H, W)`` with per-sample style statistics ``(B, 512)``.

        Returns ``(B, 3, H, W)``: the decoder's ``8*ceil(H/8)`` output cropped back to the input size.
        """
        height, width = content.shape[-2:]
        feats = adain_with_stats(self.encode(content), style_mean, style_std, alpha)
        return self.decode(feats)[..., :height, :width]


#: Marker that :func:`adain.core.weights.write_random_weights` puts in a state_dict's ``_metadata``.
RANDOM_STANDIN_KEY = "adain_random_standin"


def is_random_standin(state: dict) -> bool:
    """Whether a loaded state_dict is a random stand-in (not the release weights)."""
    metadata = getattr(state, "_metadata", None) or {}
    return bool(metadata.get(RANDOM_STANDIN_KEY))


def load_adain(vgg_path: str | Path, decoder_path: str | Path) -> AdaIN:
    """An :class:`AdaIN` in eval mode with the two pytorch-AdaIN release files loaded.

    Raises:
        WeightsError: a file is missing, unreadable, swapped or of the wrong network.
    """
    vgg_state = load_state_dict_file(vgg_path, "vgg")
    decoder_state = load_state_dict_file(decoder_path, "decoder")
    model = AdaIN()
    encoder_keys = expected_shapes(VGG_LAYERS[: _cut_index(VGG_LAYERS, ENCODER_CUT)])
    model.encoder.load_state_dict({k: vgg_state[k] for k in encoder_keys})
    model.decoder.load_state_dict(decoder_state)
    model.weights = WeightsInfo(
        str(vgg_path),
        file_sha256(vgg_path),
        str(decoder_path),
        file_sha256(decoder_path),
        random_standin=is_random_standin(vgg_state) or is_random_standin(decoder_state),
    )
    return model.eval().requires_grad_(False)

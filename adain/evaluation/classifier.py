"""ImageNet classifiers: loading them from files, and running them on images.

Weights: a ``torchvision.models`` architecture with a state_dict file, or a TorchScript file;
``torchvision:<NAME>`` and URLs are fetched once into torch's hub cache. Accepted state_dict files:
a plain ``state_dict``; a training checkpoint holding it under ``state_dict`` or ``model`` (e.g. the
Stylized-ImageNet ResNet-50 release ``resnet50_train_60_epochs-c8e5653e.pth.tar``); keys with
``DataParallel``'s ``module.`` anywhere (``module.conv1.weight``, ``features.module.0.weight``)
are cleaned. Inputs are normalised with ImageNet's mean and std, as torchvision's models expect.
"""

from __future__ import annotations

import difflib
import re
import urllib.parse
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torchvision
from torch import nn

from ..engine.image_dataset import ImageDataset, iterate_images
from ..engine.images import Preprocess

__all__ = [
    "ClassifierError",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "load_classifier",
    "normalize",
    "is_torchscript",
    "predict",
    "iter_probabilities",
    "torchvision_weights_file",
    "resolve_weights",
    "download_weights_file",
    "is_remote",
    "TORCHVISION_PREFIX",
]

#: torchvision's ImageNet normalisation (inputs in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ClassifierError(ValueError):
    """A classifier that cannot be built or loaded; the message says what to fix."""


def normalize(images: torch.Tensor) -> torch.Tensor:
    """``uint8 (N, 3, H, W)`` -> float ``(N, 3, H, W)`` normalised with ImageNet mean and std."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float().div(255) - mean) / std


def is_torchscript(path: str | Path) -> bool:
    """``torch.jit.save`` archives hold a ``constants.pkl`` (``torch.save`` files do not)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/constants.pkl") or name == "constants.pkl" for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _clean_keys(state: dict) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model"):
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    cleaned = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        key = key.removeprefix("module.").replace(".module.", ".")
        cleaned[key] = value
    return cleaned


def _build(arch: str, num_classes: int = 1000) -> nn.Module:
    _build_check(arch)
    kwargs = {"aux_logits": False, "init_weights": False} if arch in ("inception_v3", "googlenet") else {}
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes, **kwargs)


TORCHVISION_PREFIX = "torchvision:"
_URL = re.compile(r"^(https?|file)://")


def download_weights_file(url: str, hash_prefix: str | None = None, download: bool = True) -> Path:
    """The local copy of ``url`` in torch's hub cache (``$TORCH_HOME/hub/checkpoints``), downloaded
    (atomically) when missing; with ``hash_prefix`` the download must match it (sha256).

    Raises:
        ClassifierError: the download failed; the message says where to put the file by hand.
    """
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.parse.urlparse(url).path).name
    if download and not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(target), hash_prefix=hash_prefix, progress=True)
        except Exception as error:  # noqa: BLE001 - URLError, hash mismatch, disk full, ...
            raise ClassifierError(
                f"cannot download {url} ({type(error).__name__}: {error}); without internet access, "
                f"put that file at {target} or pass a local weights file"
            ) from None
    return target


def torchvision_weights_file(arch: str | None, spec: str, download: bool = True) -> Path:
    """``torchvision:<NAME>`` (e.g. ``torchvision:IMAGENET1K_V1``) -> the local file of those
    torchvision weights for ``arch`` (:func:`download_weights_file`, checked against the sha256
    prefix in torchvision's file name).

    Raises:
        ClassifierError: unknown architecture or weights name, or the download failed.
    """
    name = spec.removeprefix(TORCHVISION_PREFIX)
    if not arch:
        raise ClassifierError(f"{spec}: name the architecture (--model) of torchvision weights")
    _build_check(arch)
    available = torchvision.models.get_model_weights(arch)
    try:
        entry = available[name]
    except KeyError:
        raise ClassifierError(
            f"{spec}: {arch} has the weights {', '.join(w.name for w in available)} (or DEFAULT)"
        ) from None
    digits = re.search(r"-([0-9a-f]{6,})\.", Path(entry.url).name)
    return download_weights_file(entry.url, digits[1] if digits else None, download)


def resolve_weights(arch: str | None, weights: str | Path) -> Path:
    """A weights argument -> its local file: a path as it is; ``torchvision:<NAME>`` or an
    ``http(s)://`` / ``file://`` URL downloaded into the hub cache when missing."""
    spec = str(weights)
    if spec.startswith(TORCHVISION_PREFIX):
        return torchvision_weights_file(arch, spec)
    if _URL.match(spec):
        return download_weights_file(spec)
    return Path(weights)


def is_remote(weights: str) -> bool:
    """Whether a weights argument is fetched by the job (``torchvision:<NAME>`` or a URL)."""
    return weights.startswith(TORCHVISION_PREFIX) or bool(_URL.match(weights))


def _build_check(arch: str) -> None:
    names = torchvision.models.list_models(module=torchvision.models)
    if arch not in names:
        close = difflib.get_close_matches(arch, names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ClassifierError(f"{arch!r} is not a torchvision.models classifier{hint}; e.g. resnet50, alexnet, vgg16")


def load_classifier(arch: str | None, weights: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """A classifier in eval mode on ``device``.

    Args:
        arch: a ``torchvision.models`` name (``resnet50``, ``alexnet``, ``vgg16``, ...) whose
            ``state_dict`` is in ``weights``; ``None`` (or any name) for a TorchScript file, which
            carries its own architecture.
        weights: the file, or ``torchvision:<NAME>`` for torchvision's own weights of ``arch``
            (:func:`torchvision_weights_file`).

    Raises:
        ClassifierError: unknown architecture, missing file, or weights that do not fit it
            (missing/unexpected keys or shapes are listed).
    """
    path = resolve_weights(arch, weights)
    if not path.is_file():
        raise ClassifierError(f"classifier weights {path} not found")
    if is_torchscript(path):
        model = torch.jit.load(str(path), map_location="cpu")
        return model.to(device).eval()
    if not arch:
        raise ClassifierError(f"{path} is a state_dict, not TorchScript: name its architecture (--model)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ClassifierError(f"cannot read {path} as a PyTorch state_dict: {type(error).__name__}: {error}") from None
    if not isinstance(state, dict):
        raise ClassifierError(f"{path} holds a {type(state).__name__}, not a state_dict")
    state = _clean_keys(state)
    model = _build(arch)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        detail = "; ".join(
            part
            for part in (
                f"{len(missing)} missing (e.g. {', '.join(missing[:3])})" if missing else "",
                f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})" if unexpected else "",
                "shape mismatch: "
                + ", ".join(f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}" for k in wrong[:3])
                if wrong
                else "",
            )
            if part
        )
        raise ClassifierError(f"{path} does not fit torchvision's {arch}: {detail}")
    model.load_state_dict(state)
    return model.to(device).eval()


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Softmax probabilities of ``uint8 (B, 3, H, W)`` images: ``float32 (B, 1000)`` on the CPU
    (IEEE float32 on CUDA too: :func:`adain.engine.device.exact_numerics`)."""
    from ..engine.device import exact_numerics

    with exact_numerics(device):
        logits = model(normalize(images.to(device)))
    if isinstance(logits, (tuple, list)):  # e.g. Inception's auxiliary outputs
        logits = logits[0]
    if logits.ndim != 2 or logits.shape[1] != 1000:
        raise ClassifierError(
            f"the model outputs shape {tuple(logits.shape)}; ImageNet evaluation needs (B, 1000) logits"
        )
    return logits.float().softmax(dim=1).cpu()


def iter_probabilities(
    model: nn.Module,
    paths: Sequence[str | Path],
    device: torch.device | str = "cpu",
    batch_size: int = 32,
    workers: int = 2,
    size: int = 224,
) -> Iterator[tuple[int, torch.Tensor | None, str | None]]:
    """Classify image files in batches.

    Images are decoded robustly (:func:`adain.engine.images.open_rgb`); with ``size`` > 0 an image that is
    not ``size x size`` gets ``Resize(size)`` + ``CenterCrop(size)`` (a 224x224 cue-conflict image is
    used as it is); ``size=0`` feeds every image at its own size.

    Yields:
        ``(i, probabilities, reason)`` for ``paths[i]``, in order: ``float32 (1000,)`` and ``None``,
        or ``None`` and why the file could not be used.
    """
    recipe = Preprocess("resize-crop", size, size)
    batch: list[tuple[int, torch.Tensor]] = []

    def run() -> Iterator[tuple[int, torch.Tensor, None]]:
        probabilities = predict(model, torch.stack([image for _, image in batch]), device)
        for (index, _), row in zip(batch, probabilities):
            yield index, row, None
        batch.clear()

    for index, image, reason in iterate_images(ImageDataset(paths, recipe), workers):
        if image is None:
            yield from run() if batch else ()
            yield index, None, reason
            continue
        if batch and (len(batch) == batch_size or batch[0][1].shape != image.shape):
            yield from run()
        batch.append((index, image))
    if batch:
        yield from run()

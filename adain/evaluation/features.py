"""Globally average-pooled activations of named modules of a classifier, for the representation
analyses (shape and texture dimensions, linear decodability).

Layers are addressed by ``named_modules`` names and read by forward hooks, so any architecture
works. For torchvision's ResNets (and ResNeXt, Wide ResNet) the stages of Islam et al. (2021) have
short names: ``f1`` = ``maxpool`` (conv1, bn1, relu and the max-pool), ``f2`` = ``layer1``, ``f3`` =
``layer2``, ``f4`` = ``layer3``, ``f5`` = ``layer4`` — where the authors' ResNet returns its
average-pooled ``stage`` 1 to 5 (islamamirul/shape_texture_neuron ``models/resnet.py``).

Images go to the model as ``uint8 (3, size, size)`` (squashed to the square without cropping, as
the authors' loader does; an image already that size is untouched), normalised with ImageNet's mean
and std.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from .classifier import normalize

__all__ = [
    "RESNET_STAGES",
    "resolve_layers",
    "pool",
    "pooled_features",
    "Squash",
    "FileImages",
    "shard_images",
    "extract",
]

#: Short names of the five stages of torchvision's ResNets -> their modules.
RESNET_STAGES: dict[str, str] = {"f1": "maxpool", "f2": "layer1", "f3": "layer2", "f4": "layer3", "f5": "layer4"}


def resolve_layers(model: nn.Module, names: Sequence[str] | None = None) -> dict[str, str]:
    """Layer names as given (``f1`` .. ``f5`` or module names; default the five ResNet stages) ->
    the modules they name, in the given order.

    Raises:
        ValueError: a TorchScript model, or a name that is no module of this model.
    """
    if isinstance(model, torch.jit.ScriptModule):
        raise ValueError("features are read with forward hooks: give a torchvision architecture and a state_dict")
    names = list(names) if names else list(RESNET_STAGES)
    modules = dict(model.named_modules())
    resolved = {}
    for name in names:
        module = RESNET_STAGES.get(name, name)
        if module not in modules:
            known = ", ".join(n for n in modules if n and "." not in n)
            stage = f" ({name} is ResNet's {module})" if name in RESNET_STAGES else ""
            raise ValueError(f"no module {module!r} in this model{stage}; name modules instead, e.g. {known}")
        resolved[name] = module
    if not resolved:
        raise ValueError("no layers to read")
    return resolved


def pool(output: torch.Tensor | tuple) -> torch.Tensor:
    """A module's output -> ``(N, C)``: ``(N, C, H, W)`` averaged over space, ``(N, L, C)`` (tokens)
    over ``L``, ``(N, C)`` as it is."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    if output.ndim == 4:
        return output.mean(dim=(2, 3))
    if output.ndim == 3:
        return output.mean(dim=1)
    if output.ndim == 2:
        return output
    raise ValueError(f"cannot pool a module output of shape {tuple(output.shape)}")


@torch.inference_mode()
def pooled_features(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    layers: dict[str, str],
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """Run ``model`` on ``uint8 (B, 3, H, W)`` batches and keep each layer's pooled output.

    Returns:
        Layer name -> ``float32 (N, C_layer)``, rows in batch order.
    """
    modules = dict(model.named_modules())
    found: dict[str, list[torch.Tensor]] = {name: [] for name in layers}

    def hook_for(name: str):
        def hook(_module, _inputs, output):
            found[name].append(pool(output).float().cpu())

        return hook

    handles = [modules[module].register_forward_hook(hook_for(name)) for name, module in layers.items()]
    try:
        for images in batches:
            model(normalize(images.to(device)))
    finally:
        for handle in handles:
            handle.remove()
    return {name: torch.cat(rows).numpy() if rows else np.zeros((0, 0), np.float32) for name, rows in found.items()}


class Squash:
    """``uint8 (3, H, W)`` -> ``(3, size, size)`` by a bilinear, antialiased resize (no crop); an
    image already ``size x size`` is returned as it is."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"image size must be positive, got {size}")
        self.size = size

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if tuple(image.shape[-2:]) == (self.size, self.size):
            return image
        return TF.resize(image, [self.size, self.size], antialias=True)


class FileImages(Dataset):
    """Image files as ``uint8 (3, size, size)`` tensors (decoded by
    :func:`adain.engine.images.open_rgb`: any mode becomes RGB)."""

    def __init__(self, paths: Sequence[str | Path], size: int) -> None:
        self.paths = [str(p) for p in paths]
        self.squash = Squash(size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        from ..engine.images import open_rgb

        pixels = np.array(open_rgb(self.paths[index]), dtype=np.uint8)
        return self.squash(torch.from_numpy(pixels).permute(2, 0, 1).contiguous())


def shard_images(root: str | Path, indices: Sequence[int], size: int, split: str | None = None) -> Dataset:
    """Rows ``indices`` of ``ShardDataset(root, split=split)`` as ``uint8 (3, size, size)``
    (items ``(image, label)``)."""
    from ..data import ShardDataset

    return Subset(ShardDataset(root, transform=Squash(size), split=split), list(indices))


def _images_only(batch: list) -> torch.Tensor:
    return torch.stack([item[0] if isinstance(item, tuple) else item for item in batch])


def extract(
    model: nn.Module,
    dataset: Dataset,
    layers: dict[str, str],
    device: torch.device | str = "cpu",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
    desc: str = "features",
) -> dict[str, np.ndarray]:
    """:func:`pooled_features` over every item of ``dataset`` (in order), decoded by ``workers``
    processes, with a progress bar in images/s.

    Returns:
        Layer name -> ``float32 (len(dataset), C_layer)``.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, got {batch_size}")
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=_images_only)
    with tqdm(total=len(dataset), unit="img", desc=desc, disable=not progress) as bar:

        def batches():
            for images in loader:
                yield images
                bar.update(len(images))

        return pooled_features(model, batches(), layers, device)

"""Real architectures with random weights, saved as state_dicts the way users pass weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision


def _random_weights(folder: Path, arch: str, seed: int) -> Path:
    torch.manual_seed(seed)
    path = folder / f"{arch}-random-{seed}.pth"
    torch.save(torchvision.models.get_model(arch, weights=None).state_dict(), path)
    return path


@pytest.fixture(scope="session")
def resnet18_weights(tmp_path_factory) -> Path:
    """torchvision ResNet-18, random initialisation (seed 0), as a state_dict file."""
    return _random_weights(tmp_path_factory.mktemp("classifiers"), "resnet18", 0)


@pytest.fixture(scope="session")
def resnet50_weights(tmp_path_factory) -> Path:
    """torchvision ResNet-50, random initialisation (seed 0), as a state_dict file."""
    return _random_weights(tmp_path_factory.mktemp("classifiers"), "resnet50", 0)

"""Pooled features of named modules: the ResNet stage names, hooks against a forward pass written
out by hand, batching and order, and the pooling of each output shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from adain.evaluation.classifier import load_classifier, normalize
from adain.evaluation.features import (
    RESNET_STAGES,
    FileImages,
    Squash,
    extract,
    pool,
    pooled_features,
    resolve_layers,
)
from tests.conftest import photo


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_stage_names_and_module_names(resnet18_weights):
    model = load_classifier("resnet18", resnet18_weights)
    assert resolve_layers(model) == {"f1": "maxpool", "f2": "layer1", "f3": "layer2", "f4": "layer3", "f5": "layer4"}
    assert resolve_layers(model, ["f5", "layer2.1.conv2", "avgpool"]) == {
        "f5": "layer4",
        "layer2.1.conv2": "layer2.1.conv2",
        "avgpool": "avgpool",
    }
    assert list(RESNET_STAGES) == ["f1", "f2", "f3", "f4", "f5"]
    with pytest.raises(ValueError, match="no module 'layer9'"):
        resolve_layers(model, ["layer9"])
    alexnet = torchvision.models.alexnet()
    with pytest.raises(ValueError, match=r"f2 is ResNet's layer1.*features"):
        resolve_layers(alexnet, ["f2"])
    assert resolve_layers(alexnet, ["features.12", "classifier.5"]) == {
        "features.12": "features.12",
        "classifier.5": "classifier.5",
    }
    scripted = torch.jit.script(torchvision.models.resnet18())
    with pytest.raises(ValueError, match="forward hooks"):
        resolve_layers(scripted)


def test_hooks_give_each_stage_averaged_over_space(resnet18_weights):
    model = load_classifier("resnet18", resnet18_weights)
    images = torch.randint(0, 256, (3, 3, 48, 40), dtype=torch.uint8)
    found = pooled_features(model, [images[:2], images[2:]], resolve_layers(model))
    with torch.inference_mode():  # the same network, stage by stage
        x = model.maxpool(model.relu(model.bn1(model.conv1(normalize(images)))))
        expected = {"f1": x.mean(dim=(2, 3))}
        for stage, layer in zip(("f2", "f3", "f4", "f5"), (model.layer1, model.layer2, model.layer3, model.layer4)):
            x = layer(x)
            expected[stage] = x.mean(dim=(2, 3))
    assert [found[s].shape for s in expected] == [(3, 64), (3, 64), (3, 128), (3, 256), (3, 512)]
    for stage, value in expected.items():
        np.testing.assert_allclose(found[stage], value.numpy(), rtol=1e-5, atol=1e-6)
    # the last stage pooled is what the classifier's own average pool sees
    with torch.inference_mode():
        np.testing.assert_allclose(
            found["f5"] @ model.fc.weight.numpy().T + model.fc.bias.numpy(),
            model(normalize(images)).numpy(),
            rtol=1e-4,
            atol=1e-4,
        )
    assert not model.layer4._forward_hooks  # hooks removed


def test_pooling_of_each_output_shape():
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    assert pool(x).tolist() == [[5.5, 17.5]]
    assert pool(torch.arange(6.0).reshape(1, 3, 2)).tolist() == [[2.0, 3.0]]  # tokens (N, L, C)
    assert pool((torch.ones(2, 5), "aux")).shape == (2, 5)
    with pytest.raises(ValueError, match="cannot pool"):
        pool(torch.ones(1, 2, 3, 4, 5))


def test_files_in_batches_in_order(tmp_path, resnet18_weights):
    paths = []
    for i, name in enumerate(("astronaut", "coffee", "camera", "chelsea", "rocket")):
        path = tmp_path / f"{i}.png"
        photo(name, size=(40 + 7 * i, 33)).convert("L" if name == "camera" else "RGB").save(path)
        paths.append(path)
    model = load_classifier("resnet18", resnet18_weights)
    layers = {"f5": "layer4"}
    batched = extract(model, FileImages(paths, 32), layers, batch_size=2, workers=0, progress=False)
    single = [extract(model, FileImages([p], 32), layers, workers=0, progress=False)["f5"][0] for p in paths]
    # batch sizes change the order of float sums only
    np.testing.assert_allclose(batched["f5"], np.stack(single), rtol=1e-4, atol=1e-5)
    two_workers = extract(model, FileImages(paths, 32), layers, batch_size=3, workers=2, progress=False)
    np.testing.assert_allclose(two_workers["f5"], batched["f5"], rtol=1e-4, atol=1e-5)
    assert FileImages(paths, 32)[2].shape == (3, 32, 32)  # grey becomes RGB, squashed to the square


def test_squash():
    image = torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8)
    assert Squash(16)(image).shape == (3, 16, 16) and Squash(16)(image).dtype == torch.uint8
    square = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    assert Squash(16)(square) is square
    with pytest.raises(ValueError, match="positive"):
        Squash(0)

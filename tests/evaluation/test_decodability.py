"""Linear decodability (Hermann et al. 2020): the probe, folds that keep exemplars together, shape and
texture read from layers built to carry one or the other, and the command end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from adain.cli.main import main
from adain.evaluation.categories import CATEGORIES
from adain.evaluation.cueconflict import Stimulus
from adain.evaluation.decodability import decode_layers, exemplars
from adain.evaluation.probe import cross_validate, fit_logistic, grouped_folds, probe_accuracy
from tests.conftest import photo


def test_exemplars():
    assert exemplars("cat3-elephant1.png") == ("cat3", "elephant1")
    assert exemplars("0001_cl_dnn_0_cat_s01_cat10-elephant3.png") == ("cat10", "elephant3")
    with pytest.raises(ValueError, match="cue-conflict"):
        exemplars("cat.png")


def test_probe_separates_what_is_separable_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    centres = rng.normal(size=(4, 20)) * 3
    features = centres[labels] + rng.normal(size=(400, 20))
    assert probe_accuracy(features[:300], labels[:300], features[300:], labels[300:], 4) > 0.95
    noise = rng.normal(size=(400, 20))
    assert abs(probe_accuracy(noise[:300], labels[:300], noise[300:], labels[300:], 4) - 0.25) < 0.15
    weights, biases = fit_logistic(features, labels, 4, l2=10.0)
    loose, _ = fit_logistic(features, labels, 4, l2=1e-4)
    assert weights.norm() < loose.norm() and weights.shape == (20, 4) and biases.shape == (4,)
    with pytest.raises(ValueError, match="L2"):
        fit_logistic(features, labels, 4, l2=-1)


def test_grouped_folds_keep_groups_together_and_balance_classes():
    groups = [f"{c}{e}" for c in "abcd" for e in range(5) for _ in range(3)]  # 4 classes x 5 exemplars x 3
    labels = [ord(g[0]) for g in groups]
    folds = grouped_folds(groups, labels, 5, seed=1)
    for group in set(groups):
        assert len({folds[i] for i, g in enumerate(groups) if g == group}) == 1
    for fold in range(5):  # every class has one exemplar in every fold
        assert sorted(groups[i][0] for i in np.flatnonzero(folds == fold)[::3]) == list("abcd")
    assert grouped_folds(groups, labels, 5, seed=1).tolist() == folds.tolist()
    assert grouped_folds(groups, labels, 5, seed=2).tolist() != folds.tolist()
    with pytest.raises(ValueError, match="cannot fill"):
        grouped_folds(["a", "b"], [0, 1], 3)
    with pytest.raises(ValueError, match="at least 2"):
        grouped_folds(groups, labels, 1)


def _stimuli(shapes=("cat", "dog", "car", "clock"), exemplars_per=5, textures_per=3):
    """Every shape exemplar in one texture exemplar of each other category (no files needed)."""
    stimuli = []
    for shape in shapes:
        for i in range(1, exemplars_per + 1):
            for texture in shapes:
                if texture != shape:
                    j = 1 + (i % textures_per)
                    name = f"{shape}{i}-{texture}{j}.png"
                    stimuli.append(Stimulus(Path(name), name, shape, texture))
    return stimuli


def test_shape_and_texture_read_from_layers_that_carry_one_of_them():
    stimuli = _stimuli()
    rng = np.random.default_rng(0)
    code = {c: rng.normal(size=16) * 2 for c in CATEGORIES}
    shape_layer = np.stack([code[s.shape] for s in stimuli]) + rng.normal(size=(len(stimuli), 16))
    texture_layer = np.stack([code[s.texture] for s in stimuli]) + rng.normal(size=(len(stimuli), 16))
    results = decode_layers({"shapey": shape_layer, "texturey": texture_layer}, stimuli, folds=5)
    by_layer = {r["layer"]: r for r in results}
    assert by_layer["shapey"]["shape"]["mean"] > 0.9 and by_layer["texturey"]["texture"]["mean"] > 0.9
    assert by_layer["shapey"]["texture"]["mean"] < 0.6 and by_layer["texturey"]["shape"]["mean"] < 0.6
    assert by_layer["shapey"]["shape"]["chance"] == 0.25 and len(by_layer["shapey"]["shape"]["accuracies"]) == 5
    assert by_layer["shapey"]["units"] == 16
    with pytest.raises(ValueError, match="grouping"):
        decode_layers({"x": shape_layer}, stimuli, group="texture")


def test_exemplar_folds_stop_a_probe_that_memorises_exemplars():
    """A layer that codes each shape *exemplar* by a random vector (unrelated to its category) lets a
    probe recognise exemplars seen in training: plain folds score it high, exemplar folds near chance."""
    stimuli = _stimuli(exemplars_per=10)
    rng = np.random.default_rng(1)
    code = {}
    layer = np.stack([code.setdefault(exemplars(s.imagename)[0], rng.normal(size=32) * 3) for s in stimuli])
    layer = layer + 0.3 * rng.normal(size=layer.shape)
    by_image = decode_layers({"memo": layer}, stimuli, folds=5, group="image")[0]["shape"]["mean"]
    by_exemplar = decode_layers({"memo": layer}, stimuli, folds=5, group="exemplar")[0]["shape"]["mean"]
    assert by_image > 0.9 and by_exemplar < 0.5, (by_image, by_exemplar)
    labels = np.array([CATEGORIES.index(s.shape) for s in stimuli])
    assert len(cross_validate(layer, labels, np.arange(len(labels)) % 4, 16)) == 4


def test_command_end_to_end(tmp_path, resnet18_weights):
    stimuli = tmp_path / "cue-conflict"
    sources = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins"]
    n = 0
    for shape in ("cat", "car", "clock"):
        for i in range(1, 4):
            for texture in ("cat", "car", "clock"):
                path = stimuli / shape / f"{shape}{i}-{texture}{1 + i % 2}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                photo(sources[n % len(sources)], size=(36, 36)).save(path)
                n += 1
    out = tmp_path / "out"
    args = ["decodability", "--model", "resnet18", "--weights", str(resnet18_weights), "--stimuli", str(stimuli)]
    args += ["--out", str(out), "--device", "cpu", "--size", "32", "--folds", "3", "--workers", "0", "--no-progress"]
    assert main([*args, "--layers", "f1,f5", "layer3.1"]) == 0
    name = "resnet18"  # --model names the outputs
    summary = json.loads((out / f"{name}.json").read_text())
    assert summary["images"] == 18 and summary["group"] == "exemplar"  # same-category stimuli dropped
    assert [(e["layer"], e["module"], e["units"]) for e in summary["layers"]] == [
        ("f1", "maxpool", 64),
        ("f5", "layer4", 512),
        ("layer3.1", "layer3.1", 256),
    ]
    for entry in summary["layers"]:
        for task in ("shape", "texture"):
            assert len(entry[task]["accuracies"]) == 3 and 0 <= entry[task]["mean"] <= 1
            assert entry[task]["chance"] == pytest.approx(1 / 3)
    with open(out / f"{name}.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 2 * 3 and {r["task"] for r in rows} == {"shape", "texture"}
    assert (out / "decodability.pdf").read_bytes().startswith(b"%PDF")
    # a second model drawn beside the first
    assert main([*args, "--name", "again", "--same-category", "--compare", str(out / f"{name}.json")]) == 0
    assert json.loads((out / "again.json").read_text())["images"] == 27

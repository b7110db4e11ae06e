"""`adain dimensions` end to end: Stylized-VOC rebuilt with `adain stylize` (five textures, every
content in all five), the authors' naming, a run's shards with styles_per_image 2; ResNet-18 and
ResNet-50 with random weights side by side; the summary against the estimator run by hand."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from adain.cli.main import main
from adain.evaluation.classifier import load_classifier
from adain.evaluation.dimensionality import estimate_dimensions
from adain.evaluation.features import FileImages, extract
from adain.evaluation.pairs import draw_pairs, svoc_catalogue
from tests.conftest import photo
from tests.evaluation.test_pairs import _shard, _svoc, run_rows

CPU = ["--device", "cpu", "--workers", "0", "--no-progress"]


@pytest.fixture(scope="module")
def rebuilt_svoc(tmp_path_factory, weights):
    """The documented recipe on a tiny scale: contents named <class>_<vocid>.jpg, five textures,
    `adain stylize --num-styles 5 --alpha 1` (content 512 on the shorter side in the recipe; 48 here)."""
    root = tmp_path_factory.mktemp("svoc")
    contents, textures = root / "voc", root / "textures"
    contents.mkdir()
    textures.mkdir()
    sources = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins"]
    for i, (cls, vocid) in enumerate(
        [
            (12, "2008_000123"),
            (12, "2008_000200"),
            (3, "2007_000039"),
            (7, "2009_004100"),
            (7, "2010_000001"),
            (15, "2011_000777"),
        ]
    ):
        photo(sources[i], size=(60 + 4 * i, 48)).convert("RGB").save(contents / f"{cls}_{vocid}.jpg")
    for name in ("cracked_0048", "marbled_0159", "pleated_0168", "potholed_0062", "woven_0097"):
        photo(
            "hubble_deep_field" if "a" in name[:3] else "coins", box=(len(name) * 9, 0, 200, 200), size=(64, 64)
        ).save(textures / f"{name}.jpg")
    vgg, decoder = weights
    out = root / "stylized_voc"
    argv = ["stylize", "--content-dir", str(contents), "--style-dir", str(textures), "--output-dir", str(out)]
    argv += ["--num-styles", "5", "--alpha", "1", "--content-size", "48", "--style-size", "64"]
    argv += ["--vgg", str(vgg), "--decoder", str(decoder), "--cache-dir", "none", *CPU]
    assert main(argv) == 0
    return out


def test_the_recipe_puts_every_content_in_all_five_textures(rebuilt_svoc):
    catalogue = svoc_catalogue(rebuilt_svoc)
    assert len(catalogue) == 30
    for content in set(catalogue.content):
        textures = [t for c, t in zip(catalogue.content, catalogue.texture) if c == content]
        assert sorted(textures) == ["cracked_0048", "marbled_0159", "pleated_0168", "potholed_0062", "woven_0097"]
    assert sorted(set(catalogue.label)) == ["12", "15", "3", "7"]


def test_svoc_two_models_side_by_side(rebuilt_svoc, tmp_path, resnet18_weights, resnet50_weights):
    out = tmp_path / "dims"
    base = ["dimensions", "--svoc", str(rebuilt_svoc), "--size", "32", "--seeds", "0", "1", "--out", str(out), *CPU]
    assert main([*base, "--model", "resnet18", "--weights", str(resnet18_weights), "--batch-size", "7"]) == 0
    first = json.loads((out / "resnet18.json").read_text())
    assert first["source"] == {"kind": "svoc", "path": str(rebuilt_svoc), "split": None}
    assert first["images"] == 30 and first["draw"] == "islam" and first["seeds"] == [0, 1]
    assert [(s["stage"], s["module"], s["units"]) for s in first["stages"]] == [
        ("f1", "maxpool", 64),
        ("f2", "layer1", 64),
        ("f3", "layer2", 128),
        ("f4", "layer3", 256),
        ("f5", "layer4", 512),
    ]
    for stage in first["stages"]:
        assert [run["seed"] for run in stage["runs"]] == [0, 1]
        for run in stage["runs"]:
            assert sum(run["dims"]) == stage["units"] and run["scores"][2] == 1.0
            assert run["percent"] == [round(100 * d / stage["units"], 1) for d in run["dims"]]
        dims = np.array([run["dims"] for run in stage["runs"]], dtype=float)
        assert stage["dims_mean"] == pytest.approx(dims.mean(axis=0).tolist())
        assert stage["dims_std"] == pytest.approx(dims.std(axis=0).tolist())
    assert {p["seed"]: p["pairs"] for p in first["pairs"]} == {0: 30, 1: 30}  # every image a first member
    # the summary is the estimator on these images' features and these seeds' pairs, done by hand
    catalogue = svoc_catalogue(rebuilt_svoc)
    model = load_classifier("resnet18", resnet18_weights)
    features = extract(model, FileImages(catalogue.images, 32), {"f5": "layer4"}, workers=0, progress=False)["f5"]
    for seed, run in zip((0, 1), first["stages"][-1]["runs"]):
        pairs = draw_pairs(catalogue, seed, "islam", 20000)
        by_hand = estimate_dimensions(features[pairs.first], features[pairs.second], pairs.factors)
        assert run["dims"] == list(by_hand.dims) and run["scores"] == pytest.approx(list(by_hand.scores), abs=1e-6)
    with open(out / "resnet18.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 * 2 and rows[0]["stage"] == "f1" and rows[-1]["units"] == "512"
    # ResNet-50 beside it, on the authors' naming, two-way draw, three stages
    authors = _svoc(tmp_path / "authors", classes=3, contents=2, textures=5, size=(40, 30))
    argv = ["dimensions", "--svoc", str(authors), "--svoc-textures", "1", "2", "3", "--size", "32", "--out", str(out)]
    argv += ["--model", "resnet50", "--weights", str(resnet50_weights), "--stages", "f3,f4", "f5", "--draw", "two-way"]
    assert main([*argv, "--seeds", "5", "--compare", str(out / "resnet18.json"), *CPU]) == 0
    second = json.loads((out / "resnet50.json").read_text())
    assert second["images"] == 18 and second["draw"] == "two-way"
    assert [(s["stage"], s["units"]) for s in second["stages"]] == [("f3", 512), ("f4", 1024), ("f5", 2048)]
    assert second["pairs"][0]["variance_only"] == 0 and second["stages"][0]["dims_std"] == [0.0, 0.0, 0.0]
    assert (out / "dimensions.pdf").read_bytes().startswith(b"%PDF")


def test_a_runs_shards(tmp_path, resnet18_weights):
    rows = run_rows(classes=("n01", "n02", "n03", "n04"), per_class=3, paintings=4, seed=1)
    _shard(tmp_path / "run" / "shards" / "val" / "val-00000.h5", rows[:13], size=24)
    _shard(tmp_path / "run" / "shards" / "val" / "val-00001.h5", rows[13:], size=24)
    _shard(tmp_path / "run" / "shards" / "train" / "train-00000.h5", rows[:4], size=24)
    out = tmp_path / "dims"
    argv = ["dimensions", "--run", str(tmp_path / "run"), "--split", "val", "--model", "resnet18"]
    argv += ["--weights", str(resnet18_weights), "--size", "32", "--seeds", "3", "--max-pairs", "20", "--out", str(out)]
    assert main([*argv, "--name", "r18-run", "--stages", "f5", "--plot", "", *CPU]) == 0
    summary = json.loads((out / "r18-run.json").read_text())
    assert summary["source"]["kind"] == "shards" and summary["source"]["split"] == "val" and summary["images"] == 24
    pairs = summary["pairs"][0]
    assert pairs["pairs"] + pairs["dropped_shape"] + pairs["dropped_texture"] == 20
    assert summary["stages"][0]["units"] == 512 and not (out / "dimensions.pdf").exists()
    _shard(tmp_path / "single" / "val-00000.h5", [r for r in rows if r[3] == 0], size=24)
    argv[2] = str(tmp_path / "single")
    assert main([*argv, "--stages", "f5", *CPU]) == 2  # one style per image: a clear error, no traceback


def test_help_of_the_analyses_answers_without_torch():
    for command in ("dimensions", "decodability", "refined-bias"):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "adain", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 and "--weights" in result.stdout, result.stderr[-2000:]
        imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
        assert not [m for m in imported if m.split(".")[0] in ("torch", "torchvision")], command

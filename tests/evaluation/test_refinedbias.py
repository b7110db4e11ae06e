"""REFINED-BIAS (Kim et al. 2026): the label table against torchvision, reciprocal ranks by hand, at
chance on random logits, against the authors' definition, and the command on data in their layout."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adain.cli.main import main
from adain.evaluation.categories import imagenet_wnids
from adain.evaluation.refinedbias import (
    CUE_FOLDERS,
    REFINED_BIAS_CLASSES,
    RefinedBiasImage,
    class_indices,
    list_refined_bias,
    reciprocal_ranks,
    summarize,
)
from tests.conftest import photo

#: The authors' WNID -> label tables (PumjunKim/REFINED-BIAS refined_bias/utils.py, set_class_mappings),
#: restated here apart from the package's table.
AUTHORS_TABLE = {
    "shape": {
        "n02978881": "cassette",
        "n03584254": "ipod",
        "n02782093": "balloon",
        "n04086273": "revolver",
        "n03196217": "clock",
        "n02708093": "clock",
        "n04548280": "clock",
        "n03793489": "mouse",
        "n03976467": "camera",
        "n04069434": "camera",
        "n06596364": "book",
        "n04254680": "soccer_ball",
        "n03544143": "hourglass",
    },
    "texture": {
        "n01917289": "brain_coral",
        "n03207743": "dishrag",
        "n02129604": "tiger",
        "n02346627": "porcupine",
        "n02391049": "zebra",
        "n07714990": "broccoli",
        "n02130308": "cheetah",
        "n02504458": "elephant",
        "n02504013": "elephant",
        "n07745940": "strawberry",
        "n03530642": "honeycomb",
    },
}


def authors_rank(probabilities: np.ndarray, label: str, cue: str) -> int:
    """The authors' metric for one image: WNIDs sorted by falling probability (``np.argsort``, then
    flipped), each mapped to its label where the table has one, and the first position of the label."""
    wnids = imagenet_wnids()
    ranked = [AUTHORS_TABLE[cue].get(wnids[i], wnids[i]) for i in np.flip(np.argsort(probabilities))]
    return ranked.index(label) + 1


def test_label_table_is_the_authors_and_torchvisions():
    for cue in ("shape", "texture"):
        ours = {wnid: label for label, classes in REFINED_BIAS_CLASSES[cue].items() for wnid, _ in classes}
        assert ours == AUTHORS_TABLE[cue]
        indices = class_indices(cue)
        assert sorted(indices) == sorted(REFINED_BIAS_CLASSES[cue]) and len(indices) == 10
        wnids = imagenet_wnids()
        assert {wnids[i]: label for label, found in indices.items() for i in found} == AUTHORS_TABLE[cue]
    import torchvision

    names = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    assert [names[i] for i in class_indices("shape")["clock"]] == ["analog clock", "digital clock", "wall clock"]
    assert [names[i] for i in class_indices("texture")["elephant"]] == ["Indian elephant", "African elephant"]
    assert names[class_indices("shape")["book"][0]] == "comic book"
    assert CUE_FOLDERS == {"shape": "refined_bias_shape", "texture": "refined_bias_texture"}
    with pytest.raises(ValueError, match="unknown cue"):
        class_indices("colour")


def test_reciprocal_rank_by_hand():
    p = torch.tensor(
        [
            [0.1, 0.5, 0.2, 0.15, 0.05],  # target 2: second
            [0.1, 0.5, 0.2, 0.15, 0.05],  # targets 3 (third) and 0 (fourth): the better counts
            [0.1, 0.5, 0.2, 0.15, 0.05],  # target 1: first
            [0.3, 0.3, 0.2, 0.1, 0.1],  # target 1, tied with 0: the best rank of the tie
        ]
    )
    ranks, inverse = reciprocal_ranks(p, [[2], [3, 0], [1], [1]])
    assert ranks.tolist() == [2, 3, 1, 1]
    assert inverse.tolist() == [0.5, 1 / 3, 1.0, 1.0]
    with pytest.raises(ValueError, match="at least one"):
        reciprocal_ranks(p, [[2], [], [1], [1]])
    with pytest.raises(ValueError, match="N targets"):
        reciprocal_ranks(p, [[2]])


def _rr_moments(classes: int, total: int = 1000) -> tuple[float, float]:
    """Mean and standard deviation of 1 / best rank of ``classes`` target classes placed uniformly
    at random among ``total``: P(best rank = r) = C(total - r, classes - 1) / C(total, classes)."""
    norm = math.comb(total, classes)
    p = [math.comb(total - r, classes - 1) / norm for r in range(1, total - classes + 2)]
    mean = sum(q / r for r, q in enumerate(p, start=1))
    second = sum(q / r**2 for r, q in enumerate(p, start=1))
    return mean, math.sqrt(second - mean**2)


def test_chance_level_on_random_logits():
    """Random logits rank the label uniformly: mean RR = H_1000 / 1000 = 0.007485 for one class (sd of
    one RR 0.040, so 0.00028 over 20000 images), about 0.018 for a label with three classes."""
    mean1, sd1 = _rr_moments(1)
    assert mean1 == pytest.approx(sum(1 / r for r in range(1, 1001)) / 1000) and mean1 == pytest.approx(
        0.0074855, abs=1e-7
    )
    mean3, sd3 = _rr_moments(3)
    assert mean3 == pytest.approx(0.018, abs=0.001)
    generator = torch.Generator().manual_seed(0)
    probabilities = torch.randn(20000, 1000, generator=generator).softmax(dim=1)
    one = torch.randint(0, 1000, (20000,), generator=generator).tolist()
    _, rr = reciprocal_ranks(probabilities, [[t] for t in one])
    assert abs(rr.mean().item() - mean1) < 4 * sd1 / math.sqrt(20000)
    assert abs(rr.std().item() - sd1) < 0.1 * sd1
    three = [[t, (t + 300) % 1000, (t + 600) % 1000] for t in one]
    _, rr3 = reciprocal_ranks(probabilities, three)
    assert abs(rr3.mean().item() - mean3) < 4 * sd3 / math.sqrt(20000)
    assert abs(rr.mean().item() - mean3) > 10 * sd3 / math.sqrt(20000)  # the test tells the two apart
    # and the authors' definition gives the very same ranks on these scores
    for row in range(300):
        label = "clock" if row % 2 else "revolver"
        targets = class_indices("shape")[label]
        mine, _ = reciprocal_ranks(probabilities[row : row + 1], [targets])
        assert mine.item() == authors_rank(probabilities[row].numpy(), label, "shape")


def test_layout_subsets_and_errors(tmp_path):
    data = tmp_path / "datasets"
    for folder in ("refined_bias_shape/clock", "refined_bias_shape/balloon", "refined_bias_texture/zebra"):
        (data / folder).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8)).save(data / folder / f"x_{i}.png")
    images = list_refined_bias(data)
    assert [(i.cue, i.label) for i in images] == [("shape", "balloon")] * 2 + [("shape", "clock")] * 2 + [
        ("texture", "zebra")
    ] * 2
    assert [i.cue for i in list_refined_bias(data / "refined_bias_texture")] == ["texture", "texture"]
    (data / "refined_bias_texture" / "clock").mkdir()
    with pytest.raises(ValueError, match="not a REFINED-BIAS texture label"):
        list_refined_bias(data)
    with pytest.raises(ValueError, match="neither"):
        list_refined_bias(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        list_refined_bias(tmp_path / "missing")


def test_summary_arithmetic():
    images = [
        RefinedBiasImage(Path(f"{i}.png"), cue, label)
        for i, (cue, label) in enumerate(
            [("shape", "clock"), ("shape", "clock"), ("shape", "book"), ("texture", "zebra")]
        )
    ]
    summary = summarize(images, [1.0, 0.5, 0.25, 0.125])
    assert summary["rb_s"] == pytest.approx(1.75 / 3) and summary["rb_t"] == 0.125
    assert summary["rb_rel_shape"] == pytest.approx((1.75 / 3) / (1.75 / 3 + 0.125))
    assert summary["rb_rel_shape"] + summary["rb_rel_texture"] == pytest.approx(1.0)
    assert summary["per_class"]["shape"] == {"book": {"images": 1, "rb": 0.25}, "clock": {"images": 2, "rb": 0.75}}
    assert summary["images"] == {"shape": 3, "texture": 1}
    only_shape = summarize(images[:3], [1.0, 0.5, 0.25])
    assert (
        only_shape["rb_t"] is None and only_shape["rb_rel_shape"] is None and only_shape["per_class"]["texture"] == {}
    )


def _authors_scores(model_path: Path, arch: str, images: list[RefinedBiasImage]) -> dict[str, float]:
    """The authors' pipeline, restated: ImageFolder-style PIL loading, Resize(256), CenterCrop(224),
    ToTensor, normalisation inside the model, softmax, their rank; mean RR per cue."""
    import torchvision
    from torchvision import transforms

    model = torchvision.models.get_model(arch)
    model.load_state_dict(torch.load(model_path, weights_only=True))
    model.eval()
    transform = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])
    mean = torch.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    rr: dict[str, list[float]] = {"shape": [], "texture": []}
    for start in range(0, len(images), 32):
        chunk = images[start : start + 32]
        batch = torch.stack([transform(Image.open(i.path).convert("RGB")) for i in chunk])
        with torch.no_grad():
            probabilities = torch.nn.functional.softmax(model((batch - mean) / std), dim=1).numpy()
        for image, row in zip(chunk, probabilities):
            rr[image.cue].append(1 / authors_rank(row, image.label, image.cue))
    return {cue: float(np.mean(values)) if values else None for cue, values in rr.items()}


def _their_layout(root: Path) -> Path:
    """A few images per folder, 224x224 RGB PNGs as theirs, from real photos."""
    sources = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "hubble_deep_field"]
    n = 0
    for folder, prefix in (
        ("refined_bias_shape/clock", ""),
        ("refined_bias_shape/camera", ""),
        ("refined_bias_texture/zebra", "4x4_"),
    ):
        label = folder.split("/")[1]
        (root / folder).mkdir(parents=True)
        for i in range(3):
            photo(sources[n % len(sources)], size=(224, 224)).convert("RGB").save(
                root / folder / f"{prefix}{label}_{i}.png"
            )
            n += 1
    return root


def test_command_matches_the_authors_definition(tmp_path, resnet18_weights):
    data = _their_layout(tmp_path / "datasets")
    out = tmp_path / "rb" / "resnet18.json"
    args = ["refined-bias", "--model", "resnet18", "--weights", str(resnet18_weights), "--data", str(data)]
    assert (
        main([*args, "--out", str(out), "--device", "cpu", "--workers", "0", "--no-progress", "--batch-size", "4"]) == 0
    )
    summary = json.loads(out.read_text())
    assert set(summary) >= {"rb_s", "rb_t", "rb_rel_shape", "rb_rel_texture", "per_class"}
    assert summary["images"] == {"shape": 6, "texture": 3}
    authors = _authors_scores(resnet18_weights, "resnet18", list_refined_bias(data))
    assert summary["rb_s"] == pytest.approx(authors["shape"], rel=1e-12)
    assert summary["rb_t"] == pytest.approx(authors["texture"], rel=1e-12)
    assert summary["rb_rel_shape"] == pytest.approx(summary["rb_s"] / (summary["rb_s"] + summary["rb_t"]))
    assert set(summary["per_class"]["shape"]) == {"camera", "clock"}
    with open(out.with_suffix(".csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9 and {r["cue"] for r in rows} == {"shape", "texture"}
    assert all(float(r["reciprocal_rank"]) == pytest.approx(1 / int(r["rank"])) for r in rows)
    # one cue folder alone
    assert (
        main(
            [
                *args[:-1],
                str(data / "refined_bias_texture"),
                "--out",
                str(tmp_path / "t.json"),
                "--device",
                "cpu",
                "--workers",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )
    alone = json.loads((tmp_path / "t.json").read_text())
    assert alone["rb_t"] == pytest.approx(summary["rb_t"]) and alone["rb_s"] is None and alone["rb_rel_shape"] is None


REAL_DATA = os.environ.get("ADAIN_REFINED_BIAS_DATA")


@pytest.mark.skipif(not REAL_DATA, reason="set ADAIN_REFINED_BIAS_DATA to the authors' refined_bias/datasets folder")
def test_real_refined_bias_folders_match_the_authors_definition(tmp_path, resnet18_weights):
    """All 6,000 images of the authors' release (minutes on a CPU): the command's RB_S and RB_T equal
    the authors' definition computed from the same model's probabilities."""
    out = tmp_path / "real.json"
    args = ["refined-bias", "--model", "resnet18", "--weights", str(resnet18_weights), "--data", REAL_DATA]
    assert main([*args, "--out", str(out), "--device", "cpu", "--no-progress"]) == 0
    summary = json.loads(out.read_text())
    assert summary["images"] == {"shape": 3000, "texture": 3000} and not summary["skipped"]
    authors = _authors_scores(resnet18_weights, "resnet18", list_refined_bias(REAL_DATA))
    print("RB_S", summary["rb_s"], authors["shape"], "RB_T", summary["rb_t"], authors["texture"])
    assert summary["rb_s"] == pytest.approx(authors["shape"], rel=1e-12)
    assert summary["rb_t"] == pytest.approx(authors["texture"], rel=1e-12)

"""Shape-bias evaluation: the 16-class mapping, the arithmetic on a model with known decisions,
Top-K sparsity, classifier loading, cue-conflict stimuli, accuracy on shards, CSV/JSON/plot."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.models._meta import _IMAGENET_CATEGORIES as NAMES

from adain.cli.main import main
from adain.evaluation.categories import CATEGORIES, CATEGORY_INDICES, category_of_wnid, imagenet_wnids, to_sixteen
from adain.evaluation.classifier import IMAGENET_MEAN, IMAGENET_STD, ClassifierError, load_classifier
from adain.evaluation.cueconflict import list_stimuli, make_cue_conflict, parse_stimulus_name
from adain.evaluation.shapebias import Trial, analyse, load_summaries, raw_csv, summary_table
from adain.evaluation.topk import TOPK_PRESETS, sparsified, topk_layers, topk_spatial
from adain.shards.format import ShardData, write_shard
from tests.conftest import photo

# --- the 16 categories ---------------------------------------------------------------------------


def test_sixteen_class_mapping_counts_and_names():
    counts = {
        "airplane": 1,
        "bear": 4,
        "bicycle": 2,
        "bird": 49,
        "boat": 5,
        "bottle": 7,
        "car": 3,
        "cat": 6,
        "chair": 4,
        "clock": 3,
        "dog": 109,
        "elephant": 2,
        "keyboard": 2,
        "knife": 1,
        "oven": 1,
        "truck": 8,
    }
    assert {name: len(indices) for name, indices in CATEGORY_INDICES.items()} == counts
    every = [i for indices in CATEGORY_INDICES.values() for i in indices]
    assert len(every) == len(set(every)) == 207 and all(0 <= i < 1000 for i in every)
    assert CATEGORIES == tuple(sorted(counts))
    # against torchvision's class names, an independent source
    named = {name: [NAMES[i] for i in CATEGORY_INDICES[name]] for name in CATEGORY_INDICES}
    assert named["airplane"] == ["airliner"] and named["knife"] == ["cleaver"] and named["oven"] == ["rotisserie"]
    assert named["keyboard"] == ["computer keyboard", "typewriter keyboard"]
    assert named["elephant"] == ["Indian elephant", "African elephant"]
    assert named["bear"] == ["brown bear", "American black bear", "ice bear", "sloth bear"]
    assert named["clock"] == ["analog clock", "digital clock", "wall clock"]
    assert "chihuahua" not in [n.lower() for n in named["dog"]] and "Japanese spaniel" in named["dog"]
    assert "cock" not in named["bird"] and "hen" in named["bird"] and "goldfinch" in named["bird"]


def test_imagenet_wnids_standard_order():
    wnids = imagenet_wnids()
    assert len(wnids) == len(set(wnids)) == 1000 and list(wnids) == sorted(wnids)
    assert wnids[0] == "n01440764" and wnids[999] == "n15075141"
    # WNIDs of texture-vs-shape's category lists land in the right category
    assert category_of_wnid("n03041632") == "knife" and category_of_wnid("n02690373") == "airplane"
    assert category_of_wnid("n04505470") == "keyboard" and category_of_wnid("n02504458") == "elephant"
    assert category_of_wnid("n01440764") is None and category_of_wnid("n99999999") is None


def test_aggregation_mean_and_sum():
    probabilities = torch.zeros(1, 1000)
    probabilities[0, 499] = 0.4  # knife: one index
    probabilities[0, list(CATEGORY_INDICES["dog"])] = 0.6 / 109  # dog: spread over 109
    mean, total = to_sixteen(probabilities, "mean"), to_sixteen(probabilities, "sum")
    assert CATEGORIES[int(mean.argmax())] == "knife" and CATEGORIES[int(total.argmax())] == "dog"
    assert mean[0, CATEGORIES.index("dog")].item() == pytest.approx(0.6 / 109)
    assert total[0, CATEGORIES.index("dog")].item() == pytest.approx(0.6)
    with pytest.raises(ValueError, match="1000"):
        to_sixteen(torch.zeros(2, 10))


# --- the arithmetic --------------------------------------------------------------------------------


def test_shape_bias_arithmetic():
    trials = [
        Trial("cat1-dog1.png", "cat", "dog", "cat"),  # shape
        Trial("cat2-dog1.png", "cat", "dog", "cat"),  # shape
        Trial("cat3-bear1.png", "cat", "bear", "bear"),  # texture
        Trial("cat4-bear1.png", "cat", "bear", "knife"),  # neither
        Trial("cat1-cat2.png", "cat", "cat", "cat"),  # same category: dropped
        Trial("dog1-bird1.png", "dog", "bird", "bird"),  # texture
        Trial("dog2-bird1.png", "dog", "bird", "bird"),  # texture
        Trial("dog2-dog1.png", "dog", "dog", "bird"),  # dropped
    ]
    result = analyse(trials)
    assert (result["trials"], result["conflict_trials"], result["dropped_same_category"]) == (8, 6, 2)
    assert (result["shape_decisions"], result["texture_decisions"], result["other_decisions"]) == (2, 3, 1)
    assert result["shape_bias"] == pytest.approx(2 / 5)
    assert result["shape_accuracy"] == pytest.approx(2 / 6) and result["texture_accuracy"] == pytest.approx(3 / 6)
    assert result["per_category"]["cat"]["shape_bias"] == pytest.approx(2 / 3)
    assert result["per_category"]["dog"]["shape_bias"] == 0.0
    assert set(result["per_category"]) == {"cat", "dog"}
    only_other = analyse([Trial("cat1-dog1.png", "cat", "dog", "knife")])
    assert only_other["shape_bias"] is None and only_other["shape_accuracy"] == 0.0


def test_raw_csv_is_model_vs_human_format():
    text = raw_csv([Trial("cat1-dog1.png", "cat", "dog", "dog")], "my-model")
    rows = list(csv.reader(text.splitlines()))
    assert rows == [
        ["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"],
        ["my-model", "1", "1", "NaN", "dog", "cat", "0", "cat1-dog1.png"],
    ]


def test_stimulus_names():
    assert parse_stimulus_name("airplane1-bicycle2.png") == ("airplane", "bicycle")
    assert parse_stimulus_name("0001_cl_dnn_0_cat_s01_cat10-elephant3.png") == ("cat", "elephant")
    for bad, message in (
        ("cat.png", "not a cue-conflict"),
        ("cat1-tiger2.png", "tiger"),
        ("Cat1-dog1.png", "not a cue"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_stimulus_name(bad)


# --- a model with known decisions, through the command line ---------------------------------------


class GrayOracle(nn.Module):
    """Decides by the grey level of pixel (0, 0): logit 20 at ``table[level]``, 0 elsewhere."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("table", table)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = ((x * self.std + self.mean) * 255).round().long()[:, 0, 0, 0].clamp(0, 255)
        return torch.nn.functional.one_hot(self.table[level], 1000).float() * 20


def _oracle(tmp_path, decisions: dict[int, int]):
    table = torch.zeros(256, dtype=torch.long)
    for level, index in decisions.items():
        table[level] = index
    path = tmp_path / "oracle.pt"
    torch.jit.script(GrayOracle(table)).save(str(path))
    return path


# stimulus -> (grey level, ImageNet index the oracle answers)
KNOWN = {
    "cat/cat1-elephant1.png": (10, 281),  # cat: shape
    "cat/cat2-elephant1.png": (20, 385),  # elephant: texture
    "cat/cat1-cat2.png": (30, 282),  # same category: dropped
    "dog/dog1-clock1.png": (40, 499),  # knife: neither
    "dog/dog1-bird1.png": (50, 200),  # dog: shape
    "dog/dog2-bird1.png": (60, 8),  # bird: texture
    "dog/dog3-bird2.png": (70, 145),  # bird: texture
}


def test_shapebias_command_on_known_decisions(tmp_path, capsys):
    stimuli = tmp_path / "stimuli"
    for name, (level, _) in KNOWN.items():
        (stimuli / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (224, 224), (level, level, level)).save(stimuli / name)
    (stimuli / "dog" / "dog4-bird1.png").write_bytes(b"")  # unreadable: reported, not lost
    oracle = _oracle(tmp_path, {level: index for level, index in KNOWN.values()})
    out = tmp_path / "out"
    code = main(
        [
            "shapebias",
            "--weights",
            str(oracle),
            "--stimuli",
            str(stimuli),
            "--out",
            str(out),
            "--name",
            "gray_oracle",
            "--device",
            "cpu",
            "--workers",
            "0",
            "--batch-size",
            "3",
            "--no-progress",
        ]
    )
    assert code == 0
    summary = json.loads((out / "gray-oracle.json").read_text())
    result = summary["result"]
    assert (result["conflict_trials"], result["shape_decisions"], result["texture_decisions"]) == (6, 2, 3)
    assert result["shape_bias"] == pytest.approx(0.4)
    assert result["per_category"]["cat"]["shape_bias"] == pytest.approx(0.5)
    assert result["per_category"]["dog"]["shape_bias"] == pytest.approx(1 / 3)
    assert summary["skipped"] == [
        {"path": str(stimuli / "dog" / "dog4-bird1.png"), "reason": "undecodable: empty file"}
    ]
    with open(out / "cue-conflict_gray-oracle_session-1.csv") as handle:
        rows = list(csv.DictReader(handle))
    decided = {row["imagename"]: row["object_response"] for row in rows}
    expected = {name.split("/")[1]: NAMES_TO_CATEGORY(index) for name, (_, index) in KNOWN.items()}
    assert decided == expected and {row["subj"] for row in rows} == {"gray-oracle"}
    assert (out / "shape_bias.pdf").read_bytes().startswith(b"%PDF")
    assert "shape bias 0.400" in capsys.readouterr().out
    # several models in one plot
    (out / "other.json").write_text(json.dumps({**summary, "model": "other"}))
    assert (
        main(["shapebias-plot", str(tmp_path / "both.png"), str(out / "gray-oracle.json"), str(out / "other.json")])
        == 0
    )
    assert Image.open(tmp_path / "both.png").size[0] > 500
    (out / "not_a_summary.json").write_text("[1, 2]")
    assert main(["shapebias-plot", str(tmp_path / "x.png"), str(out / "not_a_summary.json")]) == 2
    assert summary_table(load_summaries([out / "gray-oracle.json"])).splitlines() == [
        "model\tshape_bias\tshape_accuracy\ttexture_accuracy\tconflict_trials",
        "gray-oracle\t0.4\t0.3333333333333333\t0.5\t6",
    ]


def NAMES_TO_CATEGORY(index: int) -> str:  # noqa: N802 - reads like the table above
    return next(name for name, indices in CATEGORY_INDICES.items() if index in indices)


# --- Top-K ----------------------------------------------------------------------------------------


def test_topk_on_a_hand_made_tensor():
    x = torch.tensor([[[[1.0, -5.0, 2.0], [0.5, 3.0, -4.0]], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]]])  # (1, 2, 2, 3)
    kept = topk_spatial(x, 0.5)  # floor(0.5 * 6) = 3 per channel
    assert torch.equal(kept, torch.tensor([[[[0.0, -5.0, 0.0], [0.0, 3.0, -4.0]], [[0.0, 0.0, 0.0], [0.4, 0.5, 0.6]]]]))
    one = topk_spatial(x, 0.01)  # at least one position
    assert torch.equal(one[0, 0], torch.tensor([[0.0, -5.0, 0.0], [0.0, 0.0, 0.0]]))
    assert torch.equal(topk_spatial(x, 1.0), x)
    with pytest.raises(ValueError, match="fraction"):
        topk_spatial(x, 0.0)


def test_topk_hooks_act_only_inside_the_block():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 1, 1))
    x = torch.randn(2, 1, 6, 6)
    plain = model(x)
    with sparsified(model, ["1"], 0.25):
        sparse = model(x)
    expected = model[2](topk_spatial(model[1](model[0](x)), 0.25))
    assert torch.allclose(sparse, expected) and not torch.allclose(sparse, plain)
    assert torch.equal(model(x), plain)  # hooks removed
    with pytest.raises(ValueError, match="no module named nope"):
        topk_layers(model, ["nope"])


@pytest.mark.parametrize("arch", ["alexnet", "vgg16"])
def test_topk_presets_sit_after_the_published_layers(arch):
    with torch.device("meta"):
        model = torchvision.models.get_model(arch)
    modules = dict(model.named_modules())
    kinds = [type(modules[name]).__name__ for name in topk_layers(model, arch)]
    published = {"alexnet": ["MaxPool2d", "MaxPool2d", "ReLU", "ReLU", "MaxPool2d"], "vgg16": ["MaxPool2d"] * 5}
    assert kinds == published[arch] and len(TOPK_PRESETS[arch]) == 5
    if arch == "alexnet":  # ReLUs after the third and fourth convolutions
        assert [type(modules[f"features.{i}"]).__name__ for i in (6, 8)] == ["Conv2d", "Conv2d"]


# --- classifiers from files ----------------------------------------------------------------------


def test_load_classifier_state_dict_forms(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.squeezenet1_1().eval()
    state = reference.state_dict()
    torch.save(state, tmp_path / "plain.pth")
    torch.save(
        {"epoch": 3, "arch": "squeezenet1_1", "state_dict": {f"module.{k}": v for k, v in state.items()}},
        tmp_path / "checkpoint.pth.tar",
    )
    torch.save(
        {f"features.module.{k[len('features.') :]}" if k.startswith("features.") else k: v for k, v in state.items()},
        tmp_path / "features_parallel.pth",
    )
    x = torch.randn(2, 3, 64, 64)
    for name in ("plain.pth", "checkpoint.pth.tar", "features_parallel.pth"):
        model = load_classifier("squeezenet1_1", tmp_path / name)
        with torch.no_grad():
            assert torch.equal(model(x), reference(x)), name
    with pytest.raises(ClassifierError, match="does not fit torchvision's resnet18: .* missing"):
        load_classifier("resnet18", tmp_path / "plain.pth")
    with pytest.raises(ClassifierError, match="did you mean resnet50"):
        load_classifier("resnet5O", tmp_path / "plain.pth")
    with pytest.raises(ClassifierError, match="name its architecture"):
        load_classifier(None, tmp_path / "plain.pth")
    with pytest.raises(ClassifierError, match="not found"):
        load_classifier("resnet18", tmp_path / "missing.pth")


# --- new stimuli from the engine, then a real architecture with a Top-K sweep ----------------------


def _category_tree(root, images):
    for name, image in images.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / name)


def test_make_cue_conflict_then_evaluate_with_topk_sweep(tmp_path, weights):
    shapes, textures = tmp_path / "shapes", tmp_path / "textures"
    _category_tree(
        shapes,
        {
            "cat/a.png": photo("chelsea", size=(80, 60)),
            "cat/b.png": photo("cat", size=(50, 70)),
            "clock/x.png": photo("coffee", size=(64, 64)),
        },
    )
    _category_tree(
        textures,
        {"elephant/t.jpg": photo("hubble_deep_field", size=(70, 70)), "cat/u.png": photo("coins", size=(90, 60))},
    )
    (textures / "cat" / "broken.png").write_bytes(b"not an image")
    summary = make_cue_conflict(
        shapes, textures, tmp_path / "stimuli", *weights, size=48, device="cpu", workers=0, progress=False
    )
    # textures: cat1 = broken.png (skipped), cat2 = u.png, elephant1 = t.jpg
    names = sorted(p.relative_to(tmp_path / "stimuli").as_posix() for p in (tmp_path / "stimuli").rglob("*.png"))
    assert names == [
        "cat/cat1-cat2.png",
        "cat/cat1-elephant1.png",
        "cat/cat2-cat2.png",
        "cat/cat2-elephant1.png",
        "clock/clock1-cat2.png",
        "clock/clock1-elephant1.png",
    ]
    assert summary.written == 6 and len(summary.skipped) == 1
    assert summary.skipped[0][0] == str(textures / "cat" / "broken.png") and "undecodable" in summary.skipped[0][1]
    assert (
        (tmp_path / "stimuli" / "skipped_inputs.tsv")
        .read_text()
        .startswith(f"{textures / 'cat' / 'broken.png'}\tundecodable")
    )
    assert all(Image.open(tmp_path / "stimuli" / n).size == (48, 48) for n in names)
    assert [(s.shape, s.texture) for s in list_stimuli(tmp_path / "stimuli")][:2] == [
        ("cat", "cat"),
        ("cat", "elephant"),
    ]
    no_same = make_cue_conflict(
        shapes,
        textures,
        tmp_path / "no_same",
        *weights,
        size=48,
        same_category=False,
        device="cpu",
        workers=0,
        progress=False,
    )
    assert no_same.written == 4

    torch.manual_seed(0)
    torch.save(torchvision.models.squeezenet1_1().state_dict(), tmp_path / "squeezenet.pth")
    out = tmp_path / "eval"
    assert (
        main(
            [
                "shapebias",
                "--model",
                "squeezenet1_1",
                "--weights",
                str(tmp_path / "squeezenet.pth"),
                "--stimuli",
                str(tmp_path / "stimuli"),
                "--out",
                str(out),
                "--topk",
                "0.1",
                "0.5",
                "--topk-at",
                "features.2,features.6",
                "--device",
                "cpu",
                "--workers",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "cue-conflict_squeezenet1-1-topK-10_session-1.csv",
        "cue-conflict_squeezenet1-1-topK-50_session-1.csv",
        "cue-conflict_squeezenet1-1_session-1.csv",
        "shape_bias.pdf",
        "squeezenet1-1-topK-10.json",
        "squeezenet1-1-topK-50.json",
        "squeezenet1-1.json",
    ]
    sweep = json.loads((out / "squeezenet1-1-topK-10.json").read_text())
    assert sweep["topk"] == {"fraction": 0.1, "layers": ["features.2", "features.6"]}
    assert sweep["result"]["trials"] == 6 and sweep["result"]["conflict_trials"] == 4
    assert (
        main(
            [
                "shapebias",
                "--model",
                "squeezenet1_1",
                "--weights",
                str(tmp_path / "squeezenet.pth"),
                "--stimuli",
                str(tmp_path / "stimuli"),
                "--topk",
                "0.1",
                "--no-progress",
            ]
        )
        == 2
    )  # no layers named


# --- accuracy on HDF5 shards -----------------------------------------------------------------------


def test_accuracy_on_shards(tmp_path):
    wnids = imagenet_wnids()
    # image i: grey level 10 * (i + 1); the oracle answers index `answers[i]`
    cases = [("n02690373", 404), ("n02690373", 499), ("n03041632", 499), ("n01440764", 1), ("n00000001", 3)]
    levels = [10 * (i + 1) for i in range(len(cases))]
    images = np.stack([np.full((64, 64, 3), level, np.uint8) for level in levels])
    data = ShardData(
        images=images,
        labels=np.arange(5),
        content=[f"val/{w}/{i}.JPEG" for i, (w, _) in enumerate(cases)],
        style=[""] * 5,
        wnid=[w for w, _ in cases],
        labels_clsloc=np.full(5, -1),
        codec="raw",
        shapes=None,
        rejected_content=[],
        rejected_reason=[],
        attrs={},
    )
    write_shard(tmp_path / "shards" / "val" / "val-00000.h5", data)
    oracle = _oracle(tmp_path, {level: index for level, (_, index) in zip(levels, cases)})
    out = tmp_path / "acc.json"
    assert (
        main(
            [
                "accuracy",
                "--weights",
                str(oracle),
                "--shards",
                str(tmp_path),
                "--split",
                "val",
                "--out",
                str(out),
                "--device",
                "cpu",
                "--workers",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())["result"]
    # known WNIDs: 4 (n00000001 is not an ILSVRC class); right: image 0 (airliner), image 2 (cleaver)
    assert result["images"] == 5 and result["unknown_wnid"] == 1 and result["top1"] == pytest.approx(2 / 4)
    assert result["per_wnid"]["n02690373"] == {"images": 2, "top1": 0.5}
    # 16 classes: images 0, 1 (airplane) and 2 (knife); image 1 answers cleaver -> knife, wrong
    assert result["sixteen_class"]["images"] == 3 and result["sixteen_class"]["accuracy"] == pytest.approx(2 / 3)
    with open(tmp_path / "acc.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["predicted_wnid"] for row in rows] == [wnids[i] for _, i in cases]


def test_torchvision_weights_by_name(tmp_path, monkeypatch):
    from adain.evaluation.classifier import torchvision_weights_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = torchvision_weights_file("squeezenet1_1", "torchvision:IMAGENET1K_V1", download=False)
    assert target == tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    assert torchvision_weights_file("squeezenet1_1", "torchvision:DEFAULT", download=False) == target
    with pytest.raises(ClassifierError, match="squeezenet1_1 has the weights IMAGENET1K_V1"):
        torchvision_weights_file("squeezenet1_1", "torchvision:IMAGENET1K_V9", download=False)
    torch.manual_seed(0)
    reference = torchvision.models.squeezenet1_1().eval()
    target.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), target)  # already in the cache: used, not downloaded
    model = load_classifier("squeezenet1_1", "torchvision:IMAGENET1K_V1")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_workflow_preflight_lists_every_evaluation_problem(tmp_path):
    import yaml

    from adain.evaluation.preflight import evaluation_problems
    from adain.run.preflight import PreflightError, check_run
    from tests.workflow_utils import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(
        content_dir=str(REPO / "demo" / "imagenet"),
        style_dir=str(REPO / "demo" / "paintings"),
        vgg_weights=str(tmp_path / "vgg.pth"),
        decoder_weights=str(tmp_path / "decoder.pth"),
        output_dir=str(tmp_path / "out"),
    )
    check_run(config, evaluation_problems(config))  # no models: nothing to check
    torch.save(torchvision.models.squeezenet1_1().state_dict(), tmp_path / "squeeze.pth")
    config["evaluation"] = {
        **config["evaluation"],
        "models": {
            "missing": {"arch": "resnet50", "weights": str(tmp_path / "nope.pth")},
            "no-arch": {"weights": str(tmp_path / "squeeze.pth")},
            "bad-name": {"arch": "resnet50", "weights": "torchvision:IMAGENET9K"},
            "typo": {"arch": "resnet05", "weights": "torchvision:DEFAULT"},
            "topk": {"arch": "squeezenet1_1", "weights": str(tmp_path / "squeeze.pth"), "topk": [0.1]},
        },
        "shapes": str(tmp_path / "shapes"),
        "accuracy_splits": ["test"],
    }
    with pytest.raises(PreflightError) as error:
        check_run(config, evaluation_problems(config))
    message = str(error.value)
    for expected in (
        "missing: weights file",
        "no-arch: ",
        "is a state_dict; give its arch",
        "bad-name: torchvision:IMAGENET9K: resnet50 has the weights IMAGENET1K_V1, IMAGENET1K_V2",
        "typo: 'resnet05' is not a torchvision.models classifier (did you mean resnet50",
        "topk: topk needs topk_at",
        "give both shapes and textures",
        "accuracy_splits ['test']",
    ):
        assert expected in message, (expected, message)


def test_weights_from_a_url_are_fetched_once_into_the_hub_cache(tmp_path, monkeypatch):
    from adain.evaluation.classifier import resolve_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(0)
    reference = torchvision.models.squeezenet1_1().eval()
    served = tmp_path / "served" / "resnet50_train_60_epochs-c8e5653e.pth.tar"
    served.parent.mkdir()
    torch.save({"epoch": 60, "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, served)
    url = served.as_uri()
    local = resolve_weights("squeezenet1_1", url)
    assert (
        local == tmp_path / "torch" / "hub" / "checkpoints" / served.name and local.read_bytes() == served.read_bytes()
    )
    served.unlink()  # cached: no second download
    model = load_classifier("squeezenet1_1", url)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))
    with pytest.raises(ClassifierError, match="cannot download .*put that file at"):
        resolve_weights("squeezenet1_1", (tmp_path / "served" / "gone.pth").as_uri())

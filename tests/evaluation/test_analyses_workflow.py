"""The analyses in the workflow: the schema's sub-settings and their defaults, the settings the jobs
get, the checks before a run, and each job function on tiny data in its layout."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from snakemake.utils import validate

from adain.evaluation.jobs import (
    decodability_job,
    dimensions_job,
    plot_decodability_job,
    plot_dimensions_job,
    refined_bias_job,
)
from adain.evaluation.preflight import evaluation_problems
from adain.evaluation.settings import EvaluationSettings
from tests.conftest import photo
from tests.evaluation.test_pairs import _shard, _svoc, run_rows
from tests.workflow_utils import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def _config(**evaluation) -> dict:
    config = copy.deepcopy(yaml.safe_load((REPO / "config.yaml").read_text()))
    config["evaluation"].update(evaluation)
    validate(config, str(SCHEMA))
    return config


def test_defaults_come_from_the_schema_and_nothing_runs_while_unset():
    config = _config()
    evaluation = config["evaluation"]
    assert evaluation["dimensions"] == {
        "split": "",
        "svoc": "",
        "stages": [],
        "seeds": [0, 1, 2],
        "draw": "islam",
        "max_pairs": 20000,
        "size": 224,
    }
    assert evaluation["decodability"] == {
        "enabled": False,
        "layers": [],
        "folds": 5,
        "group": "exemplar",
        "seed": 0,
        "l2": 0.001,
    }
    assert evaluation["refined_bias"] == {"data": ""}
    given = _config(dimensions={"svoc": "/data/svoc", "seeds": [4]})["evaluation"]["dimensions"]
    assert given["svoc"] == "/data/svoc" and given["seeds"] == [4] and given["draw"] == "islam"
    settings = EvaluationSettings.from_config(_config(refined_bias={"data": "/rb"}))
    assert settings.refined_bias == {"data": "/rb"} and settings.dimensions["max_pairs"] == 20000
    assert evaluation_problems(_config()) == []  # no models: nothing checked, nothing runs


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"dimensions": {"splt": "val"}}, "splt"),
        ({"dimensions": {"draw": "three-way"}}, "three-way"),
        ({"dimensions": {"seeds": []}}, "seeds|short|non-empty"),
        ({"decodability": {"folds": 1}}, "folds|minimum"),
        ({"refined_bias": {"data": 3}}, "data|string"),
    ],
)
def test_wrong_sub_settings_fail_validation(setting, message):
    config = copy.deepcopy(yaml.safe_load((REPO / "config.yaml").read_text()))
    config["evaluation"].update(setting)
    with pytest.raises(Exception, match=message):
        validate(config, str(SCHEMA))


def test_checks_before_a_run(tmp_path):
    models = {"r50": {"arch": "resnet50", "weights": "torchvision:IMAGENET1K_V1"}}
    assert any("nothing to evaluate" in p for p in evaluation_problems(_config(models=models)))
    (tmp_path / "rb").mkdir()
    assert evaluation_problems(_config(models=models, refined_bias={"data": str(tmp_path / "rb")})) == []
    problems = evaluation_problems(
        {
            **_config(
                models={**models, "vgg": {"arch": "vgg16", "weights": "torchvision:IMAGENET1K_V1"}},
                dimensions={"split": "test"},
                decodability={"enabled": True},
                refined_bias={"data": str(tmp_path / "missing")},
            ),
            "styles_per_image": 1,
        }
    )
    text = "\n".join(problems)
    assert "dimensions.split 'test' is not among splits" in text
    assert "needs styles_per_image >= 2" in text
    assert f"refined_bias.data {tmp_path / 'missing'} does not exist" in text
    assert "decodability needs cue-conflict stimuli" in text
    assert "dimensions.stages: vgg (vgg16) is not a ResNet" in text and "decodability.layers: vgg (vgg16)" in text
    assert "r50 (resnet50) is not" not in text
    named = evaluation_problems(
        _config(
            models={"vgg": {"arch": "vgg16", "weights": "torchvision:IMAGENET1K_V1"}},
            dimensions={"svoc": str(tmp_path), "stages": ["features.30"]},
        )
    )
    assert not [p for p in named if "ResNet" in p or "svoc" in p]


@pytest.fixture()
def settings(tmp_path, resnet18_weights):
    def make(**evaluation):
        config = _config(models={"r18": {"arch": "resnet18", "weights": str(resnet18_weights)}}, **evaluation)
        config.update(device="cpu", workers=0)
        return EvaluationSettings.from_config(config)

    return make


def test_dimension_jobs_on_shards_and_on_svoc(tmp_path, settings):
    rows = run_rows(per_class=3, seed=2)
    shards = [tmp_path / "shards" / "val" / "val-00000.h5", tmp_path / "shards" / "val" / "val-00001.h5"]
    _shard(shards[0], rows[:9], size=24)
    _shard(shards[1], rows[9:], size=24)
    dims = {"split": "val", "seeds": [0, 1], "size": 32, "stages": ["f5"]}
    out = tmp_path / "evaluation" / "dimensions"
    dimensions_job(
        settings(dimensions=dims),
        name="r18",
        images=[str(s) for s in shards],
        out_json=out / "r18.json",
        out_csv=out / "r18.csv",
    )
    summary = json.loads((out / "r18.json").read_text())
    assert summary["source"] == {"kind": "shards", "path": str(tmp_path / "shards" / "val"), "split": None}
    assert summary["images"] == 18 and summary["seeds"] == [0, 1] and summary["stages"][0]["units"] == 512
    svoc = _svoc(tmp_path / "svoc", classes=3, contents=2, textures=5)
    dims = {"svoc": str(svoc), "seeds": [0], "size": 32, "stages": ["f4"], "draw": "two-way"}
    dimensions_job(
        settings(dimensions=dims), name="r18", images=[str(svoc)], out_json=out / "svoc.json", out_csv=out / "svoc.csv"
    )
    assert json.loads((out / "svoc.json").read_text())["source"]["kind"] == "svoc"
    plot_dimensions_job(summaries=[out / "r18.json", out / "svoc.json"], figure=tmp_path / "dimensions.pdf")
    assert (tmp_path / "dimensions.pdf").read_bytes().startswith(b"%PDF")


def test_decodability_and_refined_bias_jobs(tmp_path, settings):
    stimuli = tmp_path / "stimuli"
    for n, (shape, i, texture) in enumerate(
        (s, i, t) for s in ("cat", "car") for i in range(1, 4) for t in ("cat", "car", "clock") if t != s
    ):
        path = stimuli / shape / f"{shape}{i}-{texture}1.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        photo(["astronaut", "coffee", "chelsea", "rocket"][n % 4], size=(32, 32)).save(path)
    job_settings = settings(stimuli=str(stimuli), decodability={"enabled": True, "folds": 3, "layers": ["f5"]})
    out = tmp_path / "evaluation"
    decodability_job(job_settings, name="r18", stimuli=str(stimuli), out_json=out / "d.json", out_csv=out / "d.csv")
    summary = json.loads((out / "d.json").read_text())
    assert summary["folds"] == 3 and [e["layer"] for e in summary["layers"]] == ["f5"] and summary["images"] == 12
    plot_decodability_job(summaries=[out / "d.json"], figure=out / "decodability.pdf")
    assert (out / "decodability.pdf").read_bytes().startswith(b"%PDF")
    data = tmp_path / "rb"
    (data / "refined_bias_shape" / "hourglass").mkdir(parents=True)
    photo("coffee", size=(224, 224)).save(data / "refined_bias_shape" / "hourglass" / "hourglass_0.png")
    refined_bias_job(job_settings, name="r18", data=str(data), out_json=out / "refined_bias" / "r18.json")
    result = json.loads((out / "refined_bias" / "r18.json").read_text())
    assert result["images"] == {"shape": 1, "texture": 0} and 0 < result["rb_s"] <= 1 and result["rb_t"] is None
    assert (out / "refined_bias" / "r18.csv").is_file()

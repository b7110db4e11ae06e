"""A wrong configuration in a few lines: the key, what is wrong, the nearest valid key."""

import pytest
import yaml

from adain.run.config_check import check_config, config_problems, refuse
from adain.stages.settings import SCHEMA, config_defaults


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def test_a_valid_configuration_has_no_problems(schema):
    assert config_problems(config_defaults(), schema) == []


def test_misspelt_keys_get_the_nearest_valid_key_top_level_and_nested(schema):
    config = {**config_defaults(), "shard_sise": 4, "evaluation": {**config_defaults()["evaluation"], "modls": {}}}
    problems = sorted(config_problems(config, schema))
    assert len(problems) == 2
    assert problems[0].startswith("evaluation.modls: not a setting; did you mean evaluation.models?")
    assert problems[1].startswith("shard_sise: not a setting; did you mean shard_size?")
    assert config_problems({**config_defaults(), "zzzz": 1}, schema) == [
        "zzzz: not a setting (every key: workflow/schemas/config.schema.yaml)"
    ]


def test_wrong_values_name_the_key_in_one_line_each(schema):
    problems = config_problems({**config_defaults(), "preset": "128", "shard_size": 0, "alpha": "strong"}, schema)
    assert [p.split(":")[0] for p in problems] == ["alpha", "preset", "shard_size"]
    assert all("\n" not in p and len(p) < 400 for p in problems)
    assert "'128' is not one of" in problems[1]


def test_refusal_is_the_problems_alone(schema, capsys):
    with pytest.raises(SystemExit) as stop:
        check_config({**config_defaults(), "shard_sise": 4}, schema)
    assert stop.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "adain: the configuration is not valid:" and len(err) == 2
    with pytest.raises(SystemExit):
        refuse(["a", "b"])
    assert capsys.readouterr().err == "adain: the run cannot start:\n  - a\n  - b\n"

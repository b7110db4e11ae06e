"""The config schema bounds every number, so a wrong value fails before any work."""

import copy

import pytest
import yaml
from snakemake.utils import validate

from tests.workflow_utils import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def _numbers(node, path="config"):
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            yield path, node
        for key, value in node.items():
            yield from _numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, f"{path}[{i}]")


def test_every_numeric_key_has_both_bounds():
    numbers = list(_numbers(yaml.safe_load(SCHEMA.read_text())))
    assert len(numbers) > 30
    for path, spec in numbers:
        assert "minimum" in spec or "exclusiveMinimum" in spec, path
        assert "maximum" in spec or "exclusiveMaximum" in spec, path


@pytest.mark.parametrize(
    "key,value",
    [
        ("seed", -1),
        ("shard_size", 0),
        ("batch_size", 10**9),
        ("alpha", 1.5),
        ("workers", -1),
        ("max_preprocessed_pixels", 0),
    ],
)
def test_out_of_range_values_fail_validation(key, value):
    config = copy.deepcopy(yaml.safe_load((REPO / "config.yaml").read_text()))
    validate(copy.deepcopy(config), str(SCHEMA))
    config[key] = value
    with pytest.raises(Exception, match=key):
        validate(config, str(SCHEMA))


def test_yes_no_keys_given_as_words_on_the_command_line_become_booleans():
    """``--config preserve_color=true`` arrives as the string "true" (Snakemake reads only True)."""
    from adain.run.preflight import command_line_booleans

    schema = yaml.safe_load(SCHEMA.read_text())
    config = copy.deepcopy(yaml.safe_load((REPO / "config.yaml").read_text()))
    config.update(preserve_color="true", compile="No", channels_last="FALSE", seed="1")
    with pytest.raises(Exception, match="preserve_color|compile|channels_last"):
        validate(copy.deepcopy(config), str(SCHEMA))
    fixed = command_line_booleans(config, schema)
    assert (fixed["preserve_color"], fixed["compile"], fixed["channels_last"]) == (True, False, False)
    assert fixed["seed"] == "1" and config["preserve_color"] == "true"  # other keys, and the input, untouched
    validate({**fixed, "seed": 1}, str(SCHEMA))
    assert (
        command_line_booleans({"preserve_color": "maybe"}, schema)["preserve_color"] == "maybe"
    )  # the schema refuses it

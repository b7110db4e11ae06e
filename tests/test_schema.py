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


@pytest.mark.parametrize("key,value", [("seed", -1), ("shard_size", 0), ("batch_size", 10**9), ("alpha", 1.5),
                                       ("workers", -1), ("max_preprocessed_pixels", 0)])
def test_out_of_range_values_fail_validation(key, value):
    config = copy.deepcopy(yaml.safe_load((REPO / "config.yaml").read_text()))
    validate(copy.deepcopy(config), str(SCHEMA))
    config[key] = value
    with pytest.raises(Exception, match=key):
        validate(config, str(SCHEMA))

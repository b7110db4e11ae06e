"""The demo tree every workflow test starts from (random weights, CPU)."""

import pytest

from tests.workflow_utils import copy_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory, weights):
    return copy_demo(tmp_path_factory.mktemp("demo"), weights)

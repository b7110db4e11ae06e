"""The texture-suppression filters through the workflow."""

import json

import h5py
import numpy as np
import pytest
import yaml

from adain.engine.images import Preprocess, open_rgb, to_uint8_tensor
from tests.workflow_utils import REPO, read_datasets, run_workflow


@pytest.mark.parametrize("method", ["gaussian", "bilateral", "anisotropic", "cartoon"])
def test_texture_suppression_methods_run_through_the_workflow(demo, tmp_path, method):
    from adain.core.filters import DEFAULTS, get_filter

    root, config = demo
    run_workflow(
        tmp_path,
        **{**config, "vgg_weights": tmp_path / "none.pth", "style_dir": tmp_path / "none"},
        output_dir=tmp_path / "out",
        method=method,
        splits="[val]",
        shard_size=100,
    )
    shard = tmp_path / "out" / "shards" / "val" / "val-00000.h5"
    data = read_datasets(shard)
    assert data["images"].shape == (6, 224, 224, 3) and set(data["style"]) == {b""}
    params = yaml.safe_load((REPO / "config.yaml").read_text())[method]  # what the run used
    assert set(params) == set(DEFAULTS[method])
    with h5py.File(shard) as handle:
        assert handle.attrs["method"] == method and json.loads(handle.attrs["method_params"]) == params
    recipe = Preprocess("resize-crop", 256, 224)
    content = to_uint8_tensor(recipe(open_rgb(root / "imagenet" / data["content"][0].decode())))[None].float() / 255
    expected = get_filter(method, params)(content).mul(255).add(0.5).clamp(0, 255).byte()[0].permute(1, 2, 0).numpy()
    assert np.abs(data["images"][0].astype(int) - expected).max() <= 1  # batched vs single: float rounding only

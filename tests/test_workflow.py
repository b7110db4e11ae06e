"""End-to-end runs of the Snakemake workflow on a copy of the demo tree (random weights, CPU)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from adain.engine import Stylizer
from adain.images import Preprocess, open_rgb, square_thumbnail, to_uint8_tensor
from adain.model import load_adain

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run_workflow(workdir: Path, *extra: str, check: bool = True, **config) -> subprocess.CompletedProcess:
    """``snakemake --cores 2`` in ``workdir`` with the repository's Snakefile and config overrides."""
    overrides = [f"{key}={value}" for key, value in config.items()]
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(REPO / "config.yaml"),
               "--directory", str(workdir), "--cores", "2", *extra, "--config", *overrides]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory, weights):
    """A copy of the demo tree with a broken and a CMYK content image, and the run's base config."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "demo" / "imagenet", root / "imagenet")
    shutil.copytree(REPO / "demo" / "paintings", root / "paintings")
    cat = root / "imagenet" / "train" / "n02123045"
    (cat / "n02123045_broken.JPEG").write_bytes((cat / "n02123045_train_0.JPEG").read_bytes()[:300])
    Image.open(cat / "n02123045_train_1.JPEG").convert("CMYK").save(cat / "n02123045_cmyk.JPEG")
    vgg, decoder = weights
    config = dict(content_dir=root / "imagenet", style_dir=root / "paintings", vgg_weights=vgg,
                  decoder_weights=decoder, device="cpu", workers=1)
    return root, config


def read_datasets(path: Path) -> dict:
    with h5py.File(path, "r") as handle:
        return {name: handle[name][()] for name in handle}


@pytest.fixture(scope="module")
def sin_run(demo, tmp_path_factory):
    root, config = demo
    work = tmp_path_factory.mktemp("sin")
    run_workflow(work, **config, output_dir=work / "out", preset="sin", shard_size=8)
    return work / "out", config


def test_sin_counts_labels_rejects_and_format(sin_run):
    out, config = sin_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["splits"]["train"] == {"indexed": 14, "packed": 13, "rejected": 1,
                                          "classes": {"n02123045": 5, "n04266014": 4, "n07920052": 4}}
    assert summary["splits"]["val"]["packed"] == 6 and summary["shards"] == 3
    rejects = (out / "rejects.tsv").read_text()
    assert "train/n02123045/n02123045_broken.JPEG\tundecodable" in rejects
    assert "99999_too_small.jpg\ttoo small: 180x140" in rejects
    classes = ["n02123045", "n04266014", "n07920052"]
    shards = sorted((out / "shards").rglob("*.h5"))
    assert [s.relative_to(out / "shards").as_posix() for s in shards] == [
        "train/train-00000.h5", "train/train-00001.h5", "val/val-00000.h5"]
    for shard in shards:
        data = read_datasets(shard)
        n = len(data["labels"])
        assert data["images"].shape == (n, 224, 224, 3) and data["images"].dtype == np.uint8
        assert data["labels"].dtype == np.int64
        for content, label, style in zip(data["content"], data["labels"], data["style"]):
            content, style = content.decode(), style.decode()
            assert content.split("/")[0] == shard.parent.name
            assert classes[label] == content.split("/")[1]
            assert (Path(config["style_dir"]) / style).is_file() and style != "99999_too_small.jpg"
        with h5py.File(shard) as handle:
            attrs = dict(handle.attrs)
        assert attrs["preset"] == "sin" and attrs["seed"] == 0 and attrs["alpha"] == 1.0
        assert len(attrs["vgg_sha256"]) == 64 and len(attrs["config_hash"]) == 64 and attrs["validated"]
    assert (out / "report" / "sample_grid.png").is_file()
    assert not list((out / "stylized").rglob("*.h5"))  # staging files are temporary


def test_sin_equals_the_engine_applied_by_hand(sin_run, weights):
    out, config = sin_run
    data = read_datasets(out / "shards" / "val" / "val-00000.h5")
    model = load_adain(*weights)
    stylizer = Stylizer(model, device="cpu", batch_size=16)
    paintings = [l.split("\t")[0] for l in (out / "paintings" / "accepted.tsv").read_text().splitlines()[1:]]
    style_dir = Path(config["style_dir"])
    # painting statistics as the workflow forms them: all (224x224) paintings in one batch
    thumbs = torch.stack([to_uint8_tensor(square_thumbnail(open_rgb(style_dir / p), 224)) for p in paintings])
    stats = dict(zip(paintings, stylizer.encode_stats(thumbs)))
    recipe = Preprocess("resize-crop", 256, 224)
    contents = torch.stack([to_uint8_tensor(recipe(open_rgb(Path(config["content_dir"]) / c.decode()))) for c in data["content"]])
    style = torch.stack([stats[s.decode()] for s in data["style"]])
    expected = stylizer.stylize(contents, style).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(data["images"], expected)


def test_same_config_and_seed_give_identical_shards(sin_run, demo, tmp_path):
    out, config = sin_run
    run_workflow(tmp_path, **{**config, "workers": 0}, output_dir=tmp_path / "again", preset="sin", shard_size=8)
    for shard in sorted((out / "shards").rglob("*.h5")):
        first, second = read_datasets(shard), read_datasets(tmp_path / "again" / shard.relative_to(out))
        for name in ("images", "labels", "content", "style"):
            np.testing.assert_array_equal(first[name], second[name])


def test_full_preset_keeps_each_content_size(demo, tmp_path):
    root, config = demo
    run_workflow(tmp_path, **config, output_dir=tmp_path / "out", preset="full", shard_size=100)
    for shard in sorted((tmp_path / "out" / "shards").rglob("*.h5")):
        with h5py.File(shard) as handle:
            assert handle.attrs["codec"] == "png" and handle["images"].dtype == h5py.vlen_dtype(np.uint8)
            for data, shape, content in zip(handle["images"], handle["shapes"], handle["content"]):
                pixels = np.asarray(Image.open(__import__("io").BytesIO(data.tobytes())))
                with Image.open(root / "imagenet" / content.decode()) as source:
                    assert pixels.shape == tuple(shape) == (source.height, source.width, 3)


def test_64_preset(demo, tmp_path):
    root, config = demo
    run_workflow(tmp_path, **config, output_dir=tmp_path / "out", preset="64", shard_size=100)
    data = read_datasets(tmp_path / "out" / "shards" / "train" / "train-00000.h5")
    assert data["images"].shape == (13, 64, 64, 3)
    assert data["images"].std() > 5


def test_bad_config_fails_before_any_work(demo, tmp_path):
    root, config = demo
    result = run_workflow(tmp_path, **{**config, "preset": "128"}, output_dir=tmp_path / "out", check=False)
    assert result.returncode != 0 and "preset" in result.stdout + result.stderr
    result = run_workflow(tmp_path, **config, output_dir=tmp_path / "out", shard_sise=3, check=False)
    assert result.returncode != 0 and "shard_sise" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_weights_without_network_say_what_to_do(demo, tmp_path):
    root, config = demo
    result = run_workflow(tmp_path, **{**config, "vgg_weights": tmp_path / "w" / "vgg_normalised.pth"},
                          output_dir=tmp_path / "out", check=False)
    log = (tmp_path / "out" / "logs" / "download_vgg.log").read_text()
    assert result.returncode != 0
    assert "releases/download/v0.0.0/vgg_normalised.pth" in log and "put it at" in log


def test_lint():
    result = subprocess.run([*SNAKEMAKE, "--lint", "-s", str(REPO / "Snakefile")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

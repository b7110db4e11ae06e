"""The full and 64 presets, several styles per image and colour preservation, end to end."""

import json
import shutil

import h5py
import numpy as np
import torch
from PIL import Image

from adain.engine.images import open_rgb, to_uint8_tensor
from tests.workflow_utils import read_datasets, run_workflow


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


def test_several_styles_and_colour_preservation_through_the_workflow_readers_and_exports(demo, weights, tmp_path):
    """styles_per_image: K samples per image with distinct seeded paintings, counted, validated,
    read back with their k, exported without collisions. preserve_color (in the same run): every
    painting given its content's colours (pytorch-AdaIN's coral, restated in
    tests/reference_adain.py), then encoded: the stored pixels equal the reference's by hand, and
    the shards record it. Back to one style without colour preservation remakes both."""
    import tarfile

    from adain.cli.inspect import export_shards, export_webdataset
    from adain.data import ShardDataset
    from adain.engine.presets import get_preset
    from tests.reference_adain import ReferenceStylizer, reference_adain, reference_coral

    root, config = demo
    settings = dict(
        output_dir=tmp_path / "out",
        preset="64",
        stylize_size_64=64,
        shard_size=10,
        styles_per_image=2,
        preserve_color=True,
    )
    run_workflow(tmp_path, **config, **settings)
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["styles_per_image"] == 2
    train = summary["splits"]["train"]
    assert (train["indexed"], train["samples"], train["packed"], train["rejected"]) == (14, 28, 26, 2)
    rejects = (out / "rejects.tsv").read_text()
    assert "train/n02123045/n02123045_broken.JPEG\t" in rejects and "n02123045_broken.JPEG#k1\t" in rejects
    samples = [item[2] for item in ShardDataset(out, split="train", metadata=True)]
    assert len(samples) == 26 and len({(s["content"], s["k"]) for s in samples}) == 26
    paintings: dict = {}
    for sample in samples:
        paintings.setdefault(sample["content"], {})[sample["k"]] = sample["style"]
    assert all(sorted(p) == [0, 1] and p[0] != p[1] for p in paintings.values())  # distinct paintings per image
    assert "| styles per image | 2" in (out / "README.md").read_text()
    assert export_shards(out / "shards" / "train", tmp_path / "tree") == 26
    assert len(list((tmp_path / "tree").rglob("*_k1.png"))) == 13
    assert export_webdataset(out / "shards" / "train", tmp_path / "wds") == 26
    ks = []
    for tar in sorted((tmp_path / "wds").glob("*.tar")):
        with tarfile.open(tar) as handle:
            ks += [
                json.loads(handle.extractfile(m).read())["k"] for m in handle.getmembers() if m.name.endswith(".json")
            ]
    assert sorted(ks) == [0] * 13 + [1] * 13
    import datasets

    from adain.cli.hf_dataset import export_hf

    assert export_hf(out / "shards" / "train", tmp_path / "hf") == {"train": 26}
    hf = datasets.load_dataset(str(tmp_path / "hf"), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert sorted(hf["k"]) == [0] * 13 + [1] * 13
    assert hf.features["label"].names == ["n02123045", "n04266014", "n07920052"]
    reference, preset = ReferenceStylizer(*weights), get_preset("64", 64)
    val_shards = sorted((out / "shards" / "val").glob("*.h5"))
    fingerprints = {}
    for shard in val_shards:
        data = read_datasets(shard)
        with h5py.File(shard) as handle:
            assert json.loads(handle.attrs["identity"])["preserve_color"] is True
            fingerprints[shard.name] = handle.attrs["fingerprint"]
        for content, style, stored in zip(data["content"], data["style"], data["images"]):
            image = to_uint8_tensor(preset.content(open_rgb(root / "imagenet" / content.decode()))).float() / 255
            painting = to_uint8_tensor(preset.painting(open_rgb(root / "paintings" / style.decode()))).float() / 255
            with torch.no_grad():
                features = reference.vgg(image[None])
                result = reference.decoder(
                    reference_adain(features, reference.vgg(reference_coral(painting, image)[None]))
                )
            expected = result[0].mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
            assert np.abs(stored.astype(float) - expected).mean() <= 0.5
    # back to one style per image, without colour preservation: the manifests and shards are made again
    shutil.rmtree(tmp_path / ".snakemake")
    run_workflow(tmp_path, **config, **{**settings, "styles_per_image": 1, "preserve_color": False})
    summary = json.loads((out / "summary.json").read_text())
    assert summary["splits"]["train"]["packed"] == 13 and summary["styles_per_image"] == 1
    one = {item[2]["content"]: item[2]["style"] for item in ShardDataset(out, split="train", metadata=True)}
    assert one == {content: p[0] for content, p in paintings.items()}  # k = 0 is the one-style draw
    with h5py.File(out / "shards" / "val" / "val-00000.h5") as handle:
        assert "preserve_color" not in json.loads(handle.attrs["identity"])
        assert handle.attrs["fingerprint"] != fingerprints["val-00000.h5"]

"""`adain export --format hf`: read back by the real `datasets` library, labels and pixels equal
to the HDF5 shards, confined to its folder."""

import numpy as np
import pytest
import yaml

from adain.cli.main import main
from adain.shards.format import ShardData, read_shard, write_shard
from tests.data.test_readers import make_shard


@pytest.mark.parametrize("size", [8, None], ids=["raw", "png"])
def test_export_reads_back_with_datasets_with_labels_and_pixels(tmp_path, size):
    import datasets

    shards = {
        "train-00000.h5": make_shard(tmp_path / "shards" / "train-00000.h5", 9, size, start=0, seed=0),
        "train-00001.h5": make_shard(tmp_path / "shards" / "train-00001.h5", 5, size, start=9, seed=1),
        "val-00000.h5": make_shard(tmp_path / "shards" / "val-00000.h5", 4, size, start=3, seed=2),
    }
    dest = tmp_path / "hf"
    # a tiny file size: several Parquet files per split, as a large export has
    assert main(["export", str(tmp_path / "shards"), str(dest), "--format", "hf", "--max-shard-mb", "0.0005"]) == 0
    assert len(list((dest / "data").glob("train-*-of-*.parquet"))) > 1
    assert not list(dest.rglob(".*"))  # no part file left behind

    loaded = datasets.load_dataset(str(dest), cache_dir=str(tmp_path / "cache"))
    assert sorted(loaded) == ["train", "val"] and (len(loaded["train"]), len(loaded["val"])) == (14, 4)
    features = loaded["train"].features
    assert isinstance(features["image"], datasets.Image) and isinstance(features["label"], datasets.ClassLabel)
    assert features["label"].names == [f"n{i:02d}" for i in range(7)]
    rows = {split: list(loaded[split]) for split in loaded}
    expected = {"train": ["train-00000.h5", "train-00001.h5"], "val": ["val-00000.h5"]}
    for split, names in expected.items():
        i = 0
        for name in names:
            data = read_shard(tmp_path / "shards" / name)
            for j in range(len(data)):
                row = rows[split][i]
                assert features["label"].int2str(row["label"]) == data.wnid[j] and row["label"] == data.labels[j]
                assert (row["content"], row["painting"], row["k"]) == (data.content[j], data.style[j], 0)
                np.testing.assert_array_equal(np.asarray(row["image"].convert("RGB")), data.pixels(j))
                np.testing.assert_array_equal(data.pixels(j), shards[name][1][j])
                i += 1
    streamed = next(iter(datasets.load_dataset(str(dest), split="val", streaming=True)))
    assert streamed["content"] == rows["val"][0]["content"]

    card = (dest / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["task_categories"] == ["image-classification"] and header["source_datasets"]
    assert header["license"] == "other" and "ImageNet" in card and "Painter-by-Numbers" in card
    assert {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]} == {"train": 14, "val": 4}


def test_export_stays_in_its_folder_and_never_mixes_with_an_older_one(tmp_path):
    n = 3
    data = ShardData(
        images=np.zeros((n, 4, 4, 3), np.uint8),
        labels=np.array([0, 1, 0]),
        content=["../../x.JPEG", "/abs.JPEG", "a/b.JPEG"],
        style=["s"] * n,
        wnid=["n01440764", "n01443537", "n01440764"],
        labels_clsloc=np.full(n, -1),
        attrs={"split": "../../../escape"},
    )
    write_shard(tmp_path / "shards" / "odd-00000.h5", data)
    dest = tmp_path / "deep" / "hf"
    assert main(["export", str(tmp_path / "shards"), str(dest), "--format", "hf"]) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "shards" not in p.parts]
    assert written and all(dest in p.parents for p in written)
    assert "| 0 | n01440764 | tench |" in (dest / "README.md").read_text()  # names where known
    assert main(["export", str(tmp_path / "shards"), str(dest), "--format", "hf"]) == 2  # not into an old export

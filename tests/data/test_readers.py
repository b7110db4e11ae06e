"""The readers: round trips, multi-worker and distributed coverage, damaged shards."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from adain.data import ShardDataset, ShardStream, find_shards
from adain.shards.format import ShardData, encode_image, read_shard, write_shard


def make_shard(path, n, size=None, start=0, seed=0):
    """A shard of n random images (fixed ``size`` -> raw; ``None`` -> PNG of varied sizes)."""
    rng = np.random.default_rng(seed)
    if size:
        images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        pixels, codec, shapes = images, "raw", None
    else:
        pixels = [rng.integers(0, 256, (10 + i, 12 + 2 * i, 3), dtype=np.uint8) for i in range(n)]
        images, codec, shapes = [encode_image(p, "png") for p in pixels], "png", np.array([p.shape for p in pixels])
    data = ShardData(
        images=images,
        labels=np.arange(start, start + n) % 7,
        content=[f"train/n{j % 7:02d}/img{j}.JPEG" for j in range(start, start + n)],
        style=[f"{j % 3}.jpg" for j in range(start, start + n)],
        wnid=[f"n{j % 7:02d}" for j in range(start, start + n)],
        labels_clsloc=np.full(n, -1),
        codec=codec,
        shapes=shapes,
        rejected_content=["train/n00/bad.JPEG"],
        rejected_reason=["undecodable: empty file"],
        attrs={"preset": "x", "seed": 3},
    )
    write_shard(path, data)
    return data, pixels


@pytest.mark.parametrize("size", [64, 224, None], ids=["64", "sin", "full"])
def test_write_read_round_trip_every_field(tmp_path, size):
    data, pixels = make_shard(tmp_path / "train-00000.h5", 5, size)
    back = read_shard(tmp_path / "train-00000.h5")
    for name in ("labels", "labels_clsloc"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    for name in ("content", "style", "wnid", "rejected_content", "rejected_reason"):
        assert getattr(back, name) == getattr(data, name)
    assert back.codec == data.codec and back.attrs["seed"] == 3 and back.attrs["preset"] == "x"
    dataset = ShardDataset(tmp_path, metadata=True)
    assert len(dataset) == 5
    for i in range(5):
        image, label, meta = dataset[i]
        assert image.dtype == torch.uint8 and image.shape[0] == 3
        np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), pixels[i])
        assert label == data.labels[i] and meta == {
            "content": data.content[i],
            "style": data.style[i],
            "wnid": data.wnid[i],
            "k": 0,
            "source": 0,
        }


@pytest.fixture()
def shards(tmp_path):
    for shard in range(5):
        make_shard(tmp_path / "shards" / "train" / f"train-{shard:05d}.h5", 7 + shard, 8, start=100 * shard, seed=shard)
    make_shard(tmp_path / "shards" / "val" / "val-00000.h5", 4, 8, start=1000)
    (tmp_path / "shards" / "train" / ".train-00009.h5.tmp-1-abc").write_bytes(b"partial")
    return tmp_path


def _contents(batches):
    return [c for batch in batches for c in batch[2]["content"]]


def test_multi_worker_read_returns_every_sample_once(shards):
    dataset = ShardDataset(shards, split="train", metadata=True)
    assert len(dataset) == sum(7 + s for s in range(5)) and len(find_shards(shards)) == 6
    loader = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=2, persistent_workers=True)
    for _ in range(2):  # persistent workers, two epochs
        seen = _contents(loader)
        assert len(seen) == len(dataset) == len(set(seen))


def test_transforms_v2_work(shards):
    from torchvision.transforms import v2

    dataset = ShardDataset(shards, transform=v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Resize(4)]))
    image, _ = dataset[3]
    assert image.dtype == torch.float32 and image.shape == (3, 4, 4) and image.max() <= 1


def test_distributed_sampler_covers_every_sample_once(shards):
    dataset = ShardDataset(shards, metadata=True)
    seen = []
    for rank in range(3):
        sampler = DistributedSampler(dataset, num_replicas=3, rank=rank, shuffle=True, drop_last=True)
        seen += _contents(DataLoader(dataset, batch_size=5, sampler=sampler, num_workers=1))
    assert len(seen) == len(set(seen)) == len(dataset) - len(dataset) % 3


@pytest.mark.parametrize("world_size,workers", [(1, 0), (1, 2), (3, 2), (5, 2)])
def test_stream_split_by_rank_and_worker_sees_each_sample_once(shards, world_size, workers):
    """45 samples: every one read once; ranks pad to equal counts as DistributedSampler does."""
    seen, counts = [], []
    for rank in range(world_size):
        stream = ShardStream(
            shards, split="train", metadata=True, shuffle_buffer=10, seed=1, rank=rank, world_size=world_size
        )
        stream.set_epoch(3)
        mine = _contents(DataLoader(stream, batch_size=4, num_workers=workers))
        counts.append(len(mine))
        assert len(mine) == len(stream) == -(-45 // world_size)
        seen += mine
    assert set(seen) == set(_contents(DataLoader(ShardDataset(shards, split="train", metadata=True), batch_size=8)))
    assert len(seen) - len(set(seen)) == (-45) % world_size  # the padded repeats, fewer than world_size


def test_stream_ranks_of_uneven_shards_yield_equal_counts(tmp_path):
    """18 images in shards of 8, 8 and 2 over 3 ranks: 6 each (DDP needs equal counts)."""
    for i, n in enumerate((8, 8, 2)):
        make_shard(tmp_path / f"train-0000{i}.h5", n, 8, start=10 * i)
    for drop_last, per_rank in ((False, 6), (True, 6)):
        seen = []
        for rank in range(3):
            stream = ShardStream(
                tmp_path, metadata=True, rank=rank, world_size=3, drop_last=drop_last, shuffle_buffer=0
            )
            mine = _contents(DataLoader(stream, batch_size=4, num_workers=2))
            assert len(mine) == len(stream) == per_rank
            seen += mine
        assert len(set(seen)) == len(seen) == 18
    stream = ShardStream(tmp_path, rank=0, world_size=4, drop_last=True)
    assert len(stream) == 4 and len(ShardStream(tmp_path, rank=3, world_size=4)) == 5


def test_set_epoch_reaches_persistent_workers(shards):
    stream = ShardStream(shards, split="train", metadata=True, shuffle_buffer=8, seed=2)
    loader = DataLoader(stream, batch_size=5, num_workers=2, persistent_workers=True)
    epochs = []
    for epoch in range(2):
        stream.set_epoch(epoch)
        epochs.append(_contents(loader))
    for epoch in range(2):  # the same order as fresh workers that start in that epoch
        fresh = ShardStream(shards, split="train", metadata=True, shuffle_buffer=8, seed=2)
        fresh.set_epoch(epoch)
        assert _contents(DataLoader(fresh, batch_size=5, num_workers=2)) == epochs[epoch]
    assert epochs[0] != epochs[1]


def test_stream_order_is_seeded(shards):
    def order(seed, epoch):
        stream = ShardStream(shards, metadata=True, seed=seed, shuffle_buffer=8)
        stream.set_epoch(epoch)
        return [item[2]["content"] for item in stream]

    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(1, 1) and sorted(order(1, 0)) == sorted(order(2, 0))


def test_stream_refuses_splits_that_leave_slots_empty_or_duplicate(shards, monkeypatch):
    stream = ShardStream(shards, split="train", rank=0, world_size=50)
    with pytest.raises(ValueError, match="45 samples in 5 shards for 50 rank"):
        list(DataLoader(stream, batch_size=4, num_workers=2))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="duplicates"):
        ShardStream(shards)


def test_missing_or_damaged_shards_are_named(shards, tmp_path):
    with pytest.raises(FileNotFoundError, match="no shards of split 'test'"):
        ShardDataset(shards, split="test")
    victim = shards / "shards" / "train" / "train-00002.h5"
    victim.write_bytes(victim.read_bytes()[:1000])
    with pytest.raises(OSError, match="train-00002.h5"):
        ShardDataset(shards)
    with pytest.raises(OSError, match="train-00002.h5"):  # a split is read from each shard's attribute
        ShardDataset(shards, split="val")
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        ShardDataset([tmp_path / "nope.h5"])


def test_inspect_and_export(shards, tmp_path, capsys):
    from PIL import Image

    from adain.cli.main import main

    assert main(["inspect", str(shards), "--grid", str(tmp_path / "grid.png")]) == 0
    out = capsys.readouterr().out
    assert "6 shard(s), 7 classes: 49 images stylized, 1 content reject" in out and "split train: 45 images" in out
    assert "content reject train/n00/bad.JPEG: undecodable: empty file" in out
    assert Image.open(tmp_path / "grid.png").size[0] > 0
    assert main(["export", str(shards), str(tmp_path / "tree"), "--format", "png"]) == 0
    files = sorted((tmp_path / "tree").rglob("*.png"))
    assert len(files) == 49
    dataset = ShardDataset(shards, metadata=True)
    image, label, meta = dataset[10]
    split = "train"
    exported = tmp_path / "tree" / split / meta["wnid"] / (meta["content"].split("/")[-1].rsplit(".", 1)[0] + ".png")
    np.testing.assert_array_equal(np.asarray(Image.open(exported)), image.permute(1, 2, 0).numpy())


def test_a_split_is_selected_by_the_shards_attribute_not_a_name_prefix(tmp_path):
    from adain.shards.format import write_shard

    for name, split in (("val-00000.h5", "val"), ("val-real-00000.h5", "val-real")):
        data, _ = make_shard(tmp_path / name, 3, 8)
        data.attrs["split"] = split
        write_shard(tmp_path / name, data)
    assert [p.name for p in find_shards(tmp_path, split="val")] == ["val-00000.h5"]
    assert len(ShardDataset(tmp_path, split="val-real")) == 3


def test_shards_of_other_image_sizes_are_refused_naming_them(tmp_path):
    from adain.data import MixedShardsError

    make_shard(tmp_path / "train-00000.h5", 3, 64)
    make_shard(tmp_path / "train-00001.h5", 3, 32)
    with pytest.raises(MixedShardsError, match="train-00001.h5"):
        ShardDataset(tmp_path)
    assert len(ShardDataset(tmp_path, allow_mixed=True)) == 6


def test_shards_made_before_the_stylization_fingerprint_was_named_so_are_read_beside_new_ones(tmp_path):
    """Shards on disk carry `dataset_fingerprint`; new ones `stylization_fingerprint` (the same
    value, renamed; docs/resume.md): read together when equal, refused when not, under either name."""
    from adain.data import MixedShardsError

    for name, attrs in (
        ("train-00000.h5", {"dataset_fingerprint": "a" * 64}),  # an older shard
        ("train-00001.h5", {"stylization_fingerprint": "a" * 64}),
    ):
        data, _ = make_shard(tmp_path / name, 3, 8)
        data.attrs.update(attrs)
        write_shard(tmp_path / name, data)
    assert len(ShardDataset(tmp_path)) == 6 and len(ShardStream(tmp_path)) == 6
    data, _ = make_shard(tmp_path / "train-00002.h5", 3, 8)
    data.attrs["stylization_fingerprint"] = "b" * 64
    write_shard(tmp_path / "train-00002.h5", data)
    with pytest.raises(MixedShardsError, match="train-00002.h5"):
        ShardDataset(tmp_path)


def test_export_stays_in_its_folder_and_never_overwrites(tmp_path):
    """Shard attributes and content paths are data: `..`, absolute paths, same stems, long names."""
    from PIL import Image

    from adain.cli.inspect import export_shards

    long_stem = "x" * 240
    contents = [
        "../../../../escaped.JPEG",
        "/etc/absolute.JPEG",
        "train/n01/dup.JPEG",
        "train/n01/dup.png",
        "train/n01/sub/dup.JPEG",
        f"train/n01/{long_stem}.JPEG",
        f"train/n01/{long_stem}y.JPEG",
        "train/n01/tab\there.JPEG",
    ]
    n = len(contents)
    pixels = np.random.default_rng(0).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    for name, split, wnid in (("a-00000.h5", "../../..", "/abs"), ("b-00000.h5", "train", "n01")):
        data = ShardData(
            images=pixels,
            labels=np.zeros(n, np.int64),
            content=contents,
            style=["s"] * n,
            wnid=[wnid] * n,
            labels_clsloc=np.full(n, -1),
            attrs={"split": split},
        )
        write_shard(tmp_path / "shards" / name, data)
    dest = tmp_path / "deep" / "er" / "export"
    assert export_shards(tmp_path / "shards", dest) == 2 * n
    outside = [p for p in tmp_path.rglob("*.png") if dest not in p.parents]
    assert outside == []
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.png"))
    assert len(files) == 2 * n  # nothing overwritten
    assert "train/n01/dup.JPEG.png" in files and "train/n01/dup.png.png" in files and "train/n01/sub/dup.png" in files
    assert all(len(part.encode()) <= 255 for f in files for part in f.split("/"))
    exported = {p.relative_to(dest).as_posix(): np.asarray(Image.open(p)) for p in dest.rglob("*.png")}
    np.testing.assert_array_equal(exported["train/n01/sub/dup.png"], pixels[4])


def test_full_shards_batch_with_the_collate_or_a_resizing_transform(tmp_path):
    from torchvision.transforms import v2

    from adain.data import collate_variable_size

    make_shard(tmp_path / "train-00000.h5", 6, None)  # PNGs of six different sizes
    images, labels, meta = next(
        iter(DataLoader(ShardDataset(tmp_path, metadata=True), batch_size=4, collate_fn=collate_variable_size))
    )
    assert [tuple(i.shape) for i in images] == [(3, 10 + i, 12 + 2 * i) for i in range(4)]
    assert labels.tolist() == [0, 1, 2, 3] and len(meta) == 4
    batch, _ = next(iter(DataLoader(ShardDataset(tmp_path, transform=v2.Resize((16, 16))), batch_size=4)))
    assert batch.shape == (4, 3, 16, 16)


@pytest.mark.parametrize("size", [8, None], ids=["raw", "png"])
def test_webdataset_export_reads_back_with_webdataset_itself(tmp_path, size):

    import webdataset as wds

    from adain.cli.main import main

    for shard in range(2):
        make_shard(tmp_path / "shards" / f"train-{shard:05d}.h5", 5, size, start=10 * shard, seed=shard)
    assert main(["export", str(tmp_path / "shards"), str(tmp_path / "wds"), "--format", "webdataset"]) == 0
    tars = sorted(str(p) for p in (tmp_path / "wds").glob("*.tar"))
    assert len(tars) == 2
    samples = list(wds.WebDataset(tars, shardshuffle=False).decode("rgb8"))
    expected = {
        meta["content"]: (image, label) for image, label, meta in ShardDataset(tmp_path / "shards", metadata=True)
    }
    assert len(samples) == len(expected) == 10
    for sample in samples:
        meta = sample["json"]
        image, label = expected.pop(meta["content"])  # every sample exactly once
        assert sample["cls"] == label == meta["label"] and meta["wnid"] and meta["split"] == "train"
        np.testing.assert_array_equal(sample["png"], image.permute(1, 2, 0).numpy())
    again = tmp_path / "again"
    assert main(["export", str(tmp_path / "shards"), str(again), "--format", "webdataset"]) == 0
    assert (again / "train-00000.tar").read_bytes() == (
        tmp_path / "wds" / "train-00000.tar"
    ).read_bytes()  # reproducible


def test_mixed_sources_read_every_sample_of_every_source_weight_times_per_epoch(tmp_path):
    """IN beside SIN: two folders of the same images (other pixels, other fingerprints) in one
    epoch, through both readers, over workers and ranks; a weight repeats a source."""
    from adain.data import MixedShardsError

    for source, seed in (("sin", 1), ("in", 2)):
        for shard in range(3):
            make_shard(
                tmp_path / source / f"train-{shard:05d}.h5", 5 + shard, 8, start=10 * shard, seed=seed + 10 * shard
            )
    sources = {tmp_path / "sin": 1, tmp_path / "in": 1}
    dataset = ShardDataset(sources, metadata=True)
    assert len(dataset) == 2 * 18
    loader = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=2, persistent_workers=True)
    for _ in range(2):
        seen = [(c, s.item()) for _, _, meta in loader for c, s in zip(meta["content"], meta["source"])]
        assert len(seen) == len(set(seen)) == 36 and {s for _, s in seen} == {0, 1}
    seen = []
    for rank in range(2):
        stream = ShardStream(sources, metadata=True, shuffle_buffer=6, rank=rank, world_size=2)
        seen += [
            (c, s.item())
            for _, _, meta in DataLoader(stream, batch_size=4, num_workers=2)
            for c, s in zip(meta["content"], meta["source"])
        ]
    assert len(seen) == len(set(seen)) == 36
    twice = ShardDataset({tmp_path / "sin": 2, tmp_path / "in": 1}, metadata=True)
    counts = {}
    for i in range(len(twice)):
        meta = twice[i][2]
        counts[(meta["content"], meta["source"])] = counts.get((meta["content"], meta["source"]), 0) + 1
    assert len(twice) == 54 and set(counts.values()) == {1, 2}
    assert all(n == (2 if source == 0 else 1) for (_, source), n in counts.items())
    image_sin, image_in = dataset[0][0], dataset[18][0]  # the same content row, each source's own pixels
    assert dataset[0][2]["content"] == dataset[18][2]["content"] and not torch.equal(image_sin, image_in)
    with pytest.raises(ValueError, match="whole number >= 1"):
        ShardDataset({tmp_path / "sin": 0.5, tmp_path / "in": 1})
    make_shard(tmp_path / "small" / "train-00000.h5", 5, 4, seed=9)
    with pytest.raises(MixedShardsError, match="different sizes"):
        ShardDataset({tmp_path / "sin": 1, tmp_path / "small": 1})

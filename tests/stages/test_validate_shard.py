"""Validation catches every kind of damage, each named clearly."""

import csv

import numpy as np
import pytest

from adain.shards.format import ShardData, encode_image, read_shard, write_shard
from adain.stages.pack_shard import pack_shard
from adain.stages.validate_shard import ValidationError, validate_shard


def _manifest(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["split", "content", "wnid", "label", "clsloc", "style"])
        writer.writerows(rows)


@pytest.fixture()
def sound(tmp_path):
    rows = [("train", f"train/n0{i % 2}/img{i}.JPEG", f"n0{i % 2}", i % 2, -1, f"{i}.jpg") for i in range(5)]
    _manifest(tmp_path / "m.tsv", rows)
    keep = [0, 1, 3, 4]
    data = ShardData(
        images=np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8),
        labels=np.array([rows[i][3] for i in keep]),
        content=[rows[i][1] for i in keep],
        style=[rows[i][5] for i in keep],
        wnid=[rows[i][2] for i in keep],
        labels_clsloc=np.full(4, -1),
        rejected_content=[rows[2][1]],
        rejected_reason=["undecodable: empty file"],
    )
    write_shard(tmp_path / "s.h5", data)
    return tmp_path, data


def _tampered(tmp_path, data, **changes):
    for key, value in changes.items():
        setattr(data, key, value)
    write_shard(tmp_path / "bad.h5", data)
    with pytest.raises(ValidationError) as error:
        validate_shard(tmp_path / "bad.h5", tmp_path / "m.tsv", tmp_path / "r.json", size=8)
    assert not (tmp_path / "r.json").exists()
    return str(error.value)


def test_sound_shard_passes(sound):
    tmp_path, _ = sound
    report = validate_shard(tmp_path / "s.h5", tmp_path / "m.tsv", tmp_path / "r.json", size=8)
    assert report["images"] == 4 and report["rejected"] == {"train/n00/img2.JPEG": "undecodable: empty file"}


def test_missing_image(sound):
    tmp_path, d = sound
    message = _tampered(
        tmp_path,
        d,
        images=d.images[:3],
        labels=d.labels[:3],
        content=d.content[:3],
        style=d.style[:3],
        wnid=d.wnid[:3],
        labels_clsloc=d.labels_clsloc[:3],
    )
    assert "bad.h5 failed validation" in message and "missing images" in message and "train/n00/img4.JPEG" in message


def test_duplicated_image(sound):
    tmp_path, d = sound
    message = _tampered(
        tmp_path,
        d,
        images=d.images[[0, 0, 1, 3]],
        labels=d.labels[[0, 0, 1, 3]],
        content=[d.content[i] for i in (0, 0, 1, 3)],
        style=[d.style[i] for i in (0, 0, 1, 3)],
        wnid=[d.wnid[i] for i in (0, 0, 1, 3)],
    )
    assert "duplicated images: ['train/n00/img0.JPEG']" in message


def test_wrong_shape(sound):
    tmp_path, d = sound
    assert "wrong image shape (7, 8, 3)" in _tampered(tmp_path, d, images=d.images[:, :7])


def test_label_disagreeing_with_the_path(sound):
    tmp_path, d = sound
    message = _tampered(tmp_path, d, labels=np.array([1, 1, 1, 0]), wnid=["n01", "n01", "n01", "n00"])
    assert "train/n00/img0.JPEG: label 1/n01 but the manifest says 0/n00" in message
    assert "WNID n01 disagrees with the class folder n00" in message


def test_count_disagreeing_with_the_manifest(sound):
    tmp_path, d = sound
    rows = [("train", f"train/n0{i % 2}/img{i}.JPEG", f"n0{i % 2}", i % 2, -1, f"{i}.jpg") for i in range(6)]
    _manifest(tmp_path / "m.tsv", rows)
    message = _tampered(tmp_path, d)
    assert "count mismatch: 4 images + 1 rejects != 6 in the manifest" in message


def test_undecodable_encoded_image(tmp_path):
    rows = [("val", "val/n00/a.JPEG", "n00", 0, -1, "p.jpg"), ("val", "val/n00/b.JPEG", "n00", 0, -1, "p.jpg")]
    _manifest(tmp_path / "m.tsv", rows)
    pixels = np.zeros((9, 11, 3), np.uint8)
    broken = encode_image(pixels, "png")[:30]
    data = ShardData(
        images=[encode_image(pixels, "png"), broken],
        labels=np.zeros(2),
        content=[r[1] for r in rows],
        style=["p.jpg"] * 2,
        wnid=["n00"] * 2,
        labels_clsloc=np.full(2, -1),
        codec="png",
        shapes=np.array([[9, 11, 3], [9, 11, 3]]),
    )
    write_shard(tmp_path / "bad.h5", data)
    with pytest.raises(ValidationError, match=r"val/n00/b.JPEG: stored image does not decode"):
        validate_shard(tmp_path / "bad.h5", tmp_path / "m.tsv", tmp_path / "r.json", size=None)


def test_missing_and_unreadable_shards_are_named(sound):
    tmp_path, _ = sound
    with pytest.raises(ValidationError, match="nope.h5: shard file not found"):
        validate_shard(tmp_path / "nope.h5", tmp_path / "m.tsv", tmp_path / "r.json", size=8)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValidationError, match="junk.h5: not a readable shard"):
        validate_shard(tmp_path / "junk.h5", tmp_path / "m.tsv", tmp_path / "r.json", size=8)


def test_a_write_error_while_packing_leaves_no_shard_and_a_rerun_recovers(sound, monkeypatch):
    tmp_path, _ = sound
    validate_shard(tmp_path / "s.h5", tmp_path / "m.tsv", tmp_path / "r.json", size=8)
    import adain.shards.format

    real = adain.shards.format.h5py.File

    class FullDisk(real):
        def create_dataset(self, name, *args, **kwargs):
            if name == "labels":
                raise OSError(28, "No space left on device")
            return super().create_dataset(name, *args, **kwargs)

    monkeypatch.setattr(adain.shards.format.h5py, "File", FullDisk)
    with pytest.raises(OSError, match="No space left"):
        pack_shard(tmp_path / "s.h5", tmp_path / "r.json", tmp_path / "out" / "train-00000.h5")
    assert list((tmp_path / "out").iterdir()) == []  # neither a final nor a temporary file
    monkeypatch.setattr(adain.shards.format.h5py, "File", real)
    pack_shard(tmp_path / "s.h5", tmp_path / "r.json", tmp_path / "out" / "train-00000.h5")
    packed = read_shard(tmp_path / "out" / "train-00000.h5")
    assert packed.attrs["validated"] and len(packed) == 4

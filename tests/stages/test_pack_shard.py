"""Packing: in place where only attributes change (the pixels neither read nor written again),
rewritten otherwise; the same final shard either way; damage between stylizing and packing found."""

import csv
import json

import h5py
import numpy as np
import pytest

from adain.shards.format import ShardData, ShardWriter, read_shard, row_checksums
from adain.stages.pack_shard import RUN_ONLY_ATTRS, pack_shard, unpack_for_repacking
from adain.stages.speed import record_path, write_record
from adain.stages.validate_shard import ValidationError, validate_shard

ROWS = [("train", f"train/n0{i % 2}/img{i}.JPEG", f"n0{i % 2}", i % 2, -1, f"{i}.jpg") for i in range(6)]


def _staging(folder, rejected: tuple[int, ...] = ()) -> tuple:
    """A staging shard as a stylize job leaves it: written by ShardWriter with each image's CRC-32
    and the run's timing attributes; ``rejected`` rows are left out (the job then shortens)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "m.tsv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["split", "content", "wnid", "label", "clsloc", "style"])
        writer.writerows(ROWS)
    keep = [i for i in range(len(ROWS)) if i not in rejected]
    images = np.random.default_rng(0).integers(0, 256, (len(keep), 96, 96, 3), dtype=np.uint8)
    staging = folder / "staging.h5"
    writer = ShardWriter(staging, folder / "parts" / "work.h5", "raw", (96, 96, 3), rows=len(ROWS))
    checksums = writer.append(images)
    writer.close(
        ShardData(
            images=None,
            labels=np.array([ROWS[i][3] for i in keep]),
            content=[ROWS[i][1] for i in keep],
            style=[ROWS[i][5] for i in keep],
            wnid=[ROWS[i][2] for i in keep],
            labels_clsloc=np.full(len(keep), -1),
            rejected_content=[ROWS[i][1] for i in rejected],
            rejected_reason=["undecodable: empty file"] * len(rejected),
            checksums=checksums,
            attrs={"fingerprint": "f" * 64, "preset": "sin"},
        )
    )
    record = {"stylize_seconds": 1.5, "stylized_this_run": len(keep), "stylize_started_at": 10.0}
    write_record(staging, {**record, "stylize_finished_at": 11.5, "stylize_gflop": 9.0})  # as the job does
    return staging, images


def _pack(folder, staging, compression=None) -> tuple[str, dict]:
    validate_shard(staging, folder / "m.tsv", folder / "r.json", size=96)
    how = pack_shard(staging, folder / "r.json", folder / "final.h5", compression=compression)
    final = read_shard(folder / "final.h5")
    return how, final


@pytest.mark.parametrize(
    "rejected, compression, expected",
    [((), None, "in place"), ((2,), None, "rewritten"), ((), "gzip", "rewritten")],
)
def test_packing_in_place_or_rewritten_gives_the_same_final_shard(tmp_path, rejected, compression, expected):
    staging, images = _staging(tmp_path / "in-place", rejected)
    how, final = _pack(tmp_path / "in-place", staging, compression)
    assert how == expected and staging.exists() == (how == "rewritten")  # in place: renamed
    np.testing.assert_array_equal(final.images, images)
    np.testing.assert_array_equal(final.checksums, row_checksums(images, "raw"))
    assert final.attrs["validated"] and final.attrs["pack_fingerprint"] and final.attrs["preset"] == "sin"
    assert not set(RUN_ONLY_ATTRS) & set(final.attrs)
    assert final.rejected_content == [ROWS[i][1] for i in rejected]
    if rejected:  # the job's copy on shortening is not carried into the final file
        assert (tmp_path / "in-place" / "final.h5").stat().st_size < 2 * images.nbytes
    with h5py.File(tmp_path / "in-place" / "final.h5") as handle:
        assert (handle["images"].compression == "gzip") == (compression == "gzip")


def test_an_image_damaged_after_it_was_written_fails_validation(tmp_path):
    """The validation reads every image once, against the CRC-32 the stylize job computed."""
    staging, images = _staging(tmp_path)
    with h5py.File(staging, "r") as handle:
        offset = handle["images"].id.get_offset()
    with open(staging, "r+b") as handle:  # one byte of the third image changes on the disk
        handle.seek(offset + 2 * images[0].nbytes + 100)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x40]))
    with pytest.raises(ValidationError, match=r"1 image\(s\) differ from what the stylize job wrote.*img2"):
        validate_shard(staging, tmp_path / "m.tsv", tmp_path / "r.json", size=96)
    assert not (tmp_path / "r.json").exists()


def test_a_pack_killed_after_its_attributes_packs_again_the_same_way(tmp_path, monkeypatch):
    """In place, the rename comes last: a kill before it leaves a staging file that packs again."""
    import adain.stages.pack_shard as packing

    staging, images = _staging(tmp_path)
    validate_shard(staging, tmp_path / "m.tsv", tmp_path / "r.json", size=96)

    def killed(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(packing.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        pack_shard(staging, tmp_path / "r.json", tmp_path / "final.h5")
    monkeypatch.undo()
    assert staging.exists() and not (tmp_path / "final.h5").exists()
    assert pack_shard(staging, tmp_path / "r.json", tmp_path / "final.h5") == "in place"
    np.testing.assert_array_equal(read_shard(tmp_path / "final.h5").images, images)


def test_the_final_shard_has_the_same_bytes_whichever_way_it_was_packed(tmp_path):
    """In place after a stylize job, or rewritten after a compression change and back: the same
    bytes (what a clean run and a run brought back to the same settings must agree on); the job's
    record (timing) is never inside the shard, it moves to the validation report and back."""
    staging, images = _staging(tmp_path)
    validate_shard(staging, tmp_path / "m.tsv", tmp_path / "r.json", size=96)
    assert json.loads((tmp_path / "r.json").read_text())["stylize_seconds"] == 1.5  # from the record
    assert pack_shard(staging, tmp_path / "r.json", tmp_path / "final.h5") == "in place"
    assert not record_path(staging).exists()
    clean = (tmp_path / "final.h5").read_bytes()
    for compression in ("gzip", None):  # repacked: compressed, then back
        unpack_for_repacking(tmp_path / "final.h5", tmp_path / "r.json", staging)
        assert json.loads(record_path(staging).read_text())["stylize_seconds"] == 1.5
        validate_shard(staging, tmp_path / "m.tsv", tmp_path / "r.json", size=96)
        assert json.loads((tmp_path / "r.json").read_text())["stylize_seconds"] == 1.5
        how = pack_shard(staging, tmp_path / "r.json", tmp_path / "final.h5", compression=compression)
        assert how == "rewritten"
        staging.unlink()  # Snakemake's temp() does so after a rewrite
    assert (tmp_path / "final.h5").read_bytes() == clean
    np.testing.assert_array_equal(read_shard(tmp_path / "final.h5").images, images)

"""stale/: its size on the console and in `adain status`, and `adain clean --stale`, which removes
it and nothing else."""

import pytest

from adain.cli.main import main
from adain.files.locking import try_lock
from adain.run.stale import clean_stale, describe_stale, stale_usage


def _folder(tmp_path):
    out = tmp_path / "out"
    for name, size in {
        "shards/train/train-00000.h5": 10,
        "stale/20261207-010101/shards/train/train-00000.h5": 1000,
        "stale/20261207-020202/shards/train/train-00001.h5": 2000,
        "stale/stale.tsv": 5,
    }.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"x" * size)
    return out


def test_stale_usage_and_the_line_a_run_prints(tmp_path):
    out = _folder(tmp_path)
    usage = stale_usage(out)
    assert (usage.files, usage.bytes) == (2, 3005)
    line = describe_stale(out, 1)
    assert line.startswith("moved 1 shard file(s) to ") and "2 file(s), 3.0 kB" in line
    assert f"adain clean --stale {out}" in line


def test_clean_removes_stale_only_and_never_beside_a_live_run(tmp_path, capsys):
    out = _folder(tmp_path)
    assert main(["clean", str(out), "--stale", "--dry-run"]) == 0
    assert "would remove 2 file(s)" in capsys.readouterr().out and (out / "stale").is_dir()
    live = try_lock(out / ".adain-run.lock")  # a run holds the folder
    with pytest.raises(OSError, match="in use by a live run"):
        clean_stale(out)
    live.close()
    assert main(["clean", str(out), "--stale"]) == 0
    assert not (out / "stale").exists() and (out / "shards/train/train-00000.h5").read_bytes() == b"x" * 10
    assert not (out / ".adain-run.lock").exists()
    assert clean_stale(out).files == 0  # nothing left: nothing to do


def test_a_linked_stale_folder_is_not_followed(tmp_path):
    elsewhere = tmp_path / "users_files"
    (elsewhere / "keep.h5").parent.mkdir(parents=True)
    (elsewhere / "keep.h5").write_bytes(b"mine")
    link = tmp_path / "linked"
    (link / "shards").mkdir(parents=True)
    (link / "stale").symlink_to(elsewhere)
    with pytest.raises(OSError, match="not a plain folder"):
        clean_stale(link)
    assert (elsewhere / "keep.h5").read_bytes() == b"mine"

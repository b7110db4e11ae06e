"""An output folder kept in S3 (adain.run.mirror, adain.files.objectstore), against a real S3
server on 127.0.0.1: push, pull, what is never copied, checkpoints, the lease, clear errors."""

import os
import uuid
from pathlib import Path

import pytest

from adain.files.objectstore import ObjectStoreError, S3Folder, split_s3_url
from adain.run.mirror import LEASE, OutputMirror, checkpoint_copier


@pytest.fixture
def bucket(s3_env) -> S3Folder:
    folder = S3Folder(f"s3://test-{uuid.uuid4().hex[:12]}/runs/sin")
    folder.check(create=True)
    return folder


def _write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_push_copies_the_folder_and_follows_changes_and_removals(bucket, tmp_path):
    local = tmp_path / "copy"
    _write(local / "summary.json", "{}")
    _write(local / "shards" / "train" / "train-00000.h5", "shard 0")
    _write(local / "shards" / "train" / ".train-00001.h5.tmp-12-abcdef01", "half written")
    _write(local / ".adain-run.lock", "pid 1")
    _write(local / "stylized" / "train" / "00001.h5.lock", "")
    mirror = OutputMirror(bucket, local, interval=1)
    first = mirror.push()
    assert set(bucket.list()) == {"summary.json", "shards/train/train-00000.h5"}  # no temporaries, no locks
    assert (first.files, first.removed) == (2, 0)
    assert mirror.push().files == 0  # nothing changed: nothing sent

    _write(local / "summary.json", '{"changed": true}')
    _write(local / "stale" / "x", "")
    (local / "shards" / "train" / "train-00000.h5").rename(local / "stale" / "train-00000.h5")
    second = mirror.push()
    assert set(bucket.list()) == {"summary.json", "stale/x", "stale/train-00000.h5"}
    assert second.removed == 1

    fresh = tmp_path / "fresh machine"
    pulled = OutputMirror(bucket, fresh).pull()
    assert pulled.files == 3
    assert _tree(fresh) == {k: v for k, v in _tree(local).items() if k in bucket.list()}
    for key in bucket.list():  # modification times travel with the files (Snakemake compares them)
        assert (fresh / key).stat().st_mtime_ns == (local / key).stat().st_mtime_ns


def test_pull_fetches_what_is_missing_or_older_and_keeps_newer_local_files(bucket, tmp_path):
    source = tmp_path / "first machine"
    _write(source / "a.txt", "bucket a", mtime=1_000_000_000)
    _write(source / "b.txt", "bucket b")
    OutputMirror(bucket, source).push()
    local = tmp_path / "copy"
    _write(local / "a.txt", "a local file written later, of another size")  # newer here: kept, pushed next
    _write(local / "b.txt", "old", mtime=1_000_000_000)  # older here: fetched
    mirror = OutputMirror(bucket, local)
    assert mirror.pull().files == 1
    assert (local / "a.txt").read_text().startswith("a local file") and (local / "b.txt").read_text() == "bucket b"
    mirror.push()
    assert OutputMirror(bucket, tmp_path / "third").pull().files == 2
    assert (tmp_path / "third" / "a.txt").read_text().startswith("a local file")


def test_checkpoints_are_copied_by_the_job_and_removed_with_the_shard(bucket, tmp_path):
    local = tmp_path / "copy"
    parts = local / "stylized" / "train" / "00000.h5.parts"
    _write(parts / "staging.h5", "images 0-4")
    _write(parts / "0000000-0000004-0123456789abcdef.npz", "part")
    mirror = OutputMirror(bucket, local)
    mirror.push()
    assert not bucket.list()  # a running shard's folder is the job's to copy, at its safe points
    copy = checkpoint_copier(bucket.url, local)
    copy(parts)
    assert set(bucket.list()) == {
        "stylized/train/00000.h5.parts/staging.h5",
        "stylized/train/00000.h5.parts/0000000-0000004-0123456789abcdef.npz",
    }
    resumed = tmp_path / "fresh machine"
    OutputMirror(bucket, resumed).pull()
    assert _tree(resumed) == _tree(local)
    for path in parts.iterdir():  # the shard is finished: its checkpoints go, here and in the bucket
        path.unlink()
    parts.rmdir()
    _write(local / "stylized" / "train" / "00000.h5", "staged shard")
    mirror.push()
    assert set(bucket.list()) == {"stylized/train/00000.h5"}


def test_status_reads_records_only_with_stand_ins_for_shards(bucket, tmp_path):
    local = tmp_path / "copy"
    _write(local / "manifest" / "shards.tsv", "split\tshard\timages\n")
    _write(local / "shards" / "train" / "train-00000.h5", "x" * 1000)
    OutputMirror(bucket, local).push()
    records = tmp_path / "records"
    OutputMirror(bucket, records).pull(records_only=True)
    assert (records / "manifest" / "shards.tsv").read_text().startswith("split")
    assert (records / "shards" / "train" / "train-00000.h5").stat().st_size == 0


def test_one_live_run_per_bucket_copy(bucket, tmp_path):
    first = OutputMirror(bucket, tmp_path / "one", interval=1)
    first.claim()
    second = OutputMirror(bucket, tmp_path / "two", interval=1)
    with pytest.raises(ObjectStoreError, match="in use by a live run"):
        second.claim()
    first.finish()  # the last push gives the lease back
    assert LEASE not in bucket.list()
    second.claim()
    second.push()  # the lease is no file of the local copy: a push keeps it
    assert bucket.read_text(LEASE)[0] == second.owner and not (tmp_path / "two" / LEASE).exists()


def test_bad_urls_and_unreachable_servers_are_clear(s3_env, monkeypatch):
    for url, message in [
        ("s3://bucket", "not the bucket itself"),
        ("s3://bucket/", "not the bucket itself"),
        ("s3://bucket/a/../b", "'..'"),
        ("http://bucket/a", "not an S3 URL"),
    ]:
        with pytest.raises(ObjectStoreError, match=message):
            split_s3_url(url)
    with pytest.raises(ObjectStoreError, match="bucket cannot be used"):
        S3Folder("s3://no-such-bucket-here/sin").check()
    monkeypatch.setenv("SNAKEMAKE_STORAGE_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(ObjectStoreError, match="cannot reach http://127.0.0.1:9.*--storage-s3-endpoint-url"):
        S3Folder("s3://bucket/sin").check()

"""The workflow with its output folder in S3 (output_dir: s3://bucket/prefix), against a real S3
server on 127.0.0.1: a run killed with SIGKILL mid-shard resumes on a fresh machine from the
bucket's checkpoints, a setting change never mixes stale shards in the bucket, and `adain status`,
`adain pull` and the readers read it."""

import hashlib
import json
import time
import uuid

import h5py
import numpy as np
import pytest

from adain.cli.main import main as adain_main
from adain.files.objectstore import S3Folder
from adain.run.mirror import LEASE, lease_seconds
from tests.workflow_utils import kill_group, read_datasets, run_workflow, start_workflow, wait_for

#: One split (one shard of 6 images: the runs stay short), small batches and checkpoints, so a killed
#: shard has one (at image 4) and two images still to do.
SETTINGS = {
    "splits": "[val]",
    "preset": "sin",
    "shard_size": 8,
    "batch_size": 2,
    "checkpoint_images": 4,
    "storage_sync_seconds": 1,
}


def _digests(paths) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def bucket_run(demo, s3_endpoint, tmp_path_factory):
    """A local reference run; then the same run into a bucket, killed (SIGKILL, whole process
    group) once a checkpoint has reached the bucket, and resumed on a "fresh machine" (another
    working directory and local copy, no .snakemake)."""
    root, config = demo
    user_files = sorted(p for p in root.rglob("*") if p.is_file())
    before = _digests(user_files)
    work = tmp_path_factory.mktemp("bucket")
    run_workflow(work / "reference", **config, **SETTINGS, output_dir=work / "reference" / "out")
    url = f"s3://sin-{uuid.uuid4().hex[:10]}/runs/sin"
    with pytest.MonkeyPatch.context() as env:  # for the whole module: its runs and commands
        env.setenv("SNAKEMAKE_STORAGE_S3_ENDPOINT_URL", s3_endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        first = {**config, **SETTINGS, "output_dir": url, "local_copy": work / "machine1" / "copy"}
        process = start_workflow(work / "machine1", first)
        bucket = S3Folder(url)

        def checkpointed() -> bool:
            try:
                return any(".parts/" in k and k.endswith(".npz") for k in bucket.list())
            except Exception:  # noqa: BLE001 - the run has not made its bucket yet
                return False

        assert wait_for(checkpointed, process, timeout=300), "no checkpoint reached the bucket"
        kill_group(process)
        killed = set(bucket.list())
        # the killed run's lease holds the bucket until it has aged (by the server's clock)
        deadline = time.monotonic() + 120
        while (held := bucket.read_text(LEASE)) and held[1] < lease_seconds(SETTINGS["storage_sync_seconds"]):
            assert time.monotonic() < deadline, f"the lease never aged: {held}"
            time.sleep(0.5)
        second = {**first, "local_copy": work / "machine2" / "copy"}
        resumed = run_workflow(work / "machine2", **second, check=False)
        yield {
            "url": url,
            "bucket": bucket,
            "killed": killed,
            "resumed": resumed,
            "config": second,
            "work": work,
            "reference": work / "reference" / "out",
            "user_files": user_files,
            "before": before,
        }


def test_a_killed_run_resumes_on_a_fresh_machine_from_the_bucket(bucket_run):
    resumed, work = bucket_run["resumed"], bucket_run["work"]
    # the first machine's run was killed after a checkpoint reached the bucket, and held the lease
    assert LEASE in bucket_run["killed"] and any(".h5.parts/staging.h5" in k for k in bucket_run["killed"])
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "adain: pulled from " + bucket_run["url"] in resumed.stdout + resumed.stderr
    copy = work / "machine2" / "copy"
    logs = "".join(p.read_text() for p in (copy / "logs" / "stylize_shard").rglob("*.log"))
    assert "resuming" in logs and "starts over" not in logs  # from the bucket's checkpoint, intact
    reference = bucket_run["reference"]
    shards = sorted((reference / "shards").rglob("*.h5"))
    assert len(shards) == 1
    for shard in shards:
        first, second = read_datasets(shard), read_datasets(copy / shard.relative_to(reference))
        for name in ("images", "labels", "content", "style"):
            np.testing.assert_array_equal(first[name], second[name])
    # the bucket holds exactly the local copy: no checkpoint, staging shard, temporary file or lease left
    stored = bucket_run["bucket"].list()
    local = {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file() and p.name != ".adain-run.lock"}
    assert set(stored) == local
    assert not [k for k in stored if ".parts/" in k or k.startswith("stylized/") or ".tmp-" in k]


def test_status_pull_and_readers_on_the_bucket(bucket_run, capsys, tmp_path):
    from adain.data import ShardDataset

    # (the fixture keeps the endpoint and keys in the environment for this module's tests)
    assert adain_main(["status", bucket_run["url"]]) == 0
    status = capsys.readouterr().out
    assert status.startswith(f"{bucket_run['url']}: 1 of 1 shards done,") and "finished" in status
    assert "  6 images stylized, 0 content rejects, " in status and "(6 of 6 content images done)" in status
    assert adain_main(["pull", bucket_run["url"], str(tmp_path / "pulled")]) == 0
    assert adain_main(["verify", bucket_run["url"]]) == 0
    pulled, reference = ShardDataset(tmp_path / "pulled"), ShardDataset(bucket_run["reference"])
    assert len(pulled) == len(reference) == 6
    for i in (0, 3, len(reference) - 1):
        assert pulled[i][1] == reference[i][1]
        np.testing.assert_array_equal(np.asarray(pulled[i][0]), np.asarray(reference[i][0]))


def test_a_setting_change_in_the_bucket_never_mixes_stale_shards(bucket_run):
    config, work, bucket = bucket_run["config"], bucket_run["work"], bucket_run["bucket"]
    changed = {**config, "compression": "gzip", "local_copy": work / "machine3" / "copy"}  # a third machine
    result = run_workflow(work / "machine3", **changed)
    assert "pulled from" in result.stdout + result.stderr
    copy = work / "machine3" / "copy"
    stored = bucket.list()
    packed = sorted(k for k in stored if k.startswith("shards/"))
    assert len(packed) == 1
    summary = json.loads((copy / "summary.json").read_text())
    expected = {entry["file"]: entry["pack_fingerprint"] for entry in summary["shard_files"]}
    for key in packed:  # every shard in the bucket is the new setting's
        with h5py.File(copy / key, "r") as handle:
            assert handle["images"].compression == "gzip"
            assert handle.attrs["pack_fingerprint"] == expected[key]
    assert set(stored) == {
        p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file() and p.name != ".adain-run.lock"
    }
    assert _digests(bucket_run["user_files"]) == bucket_run["before"]  # the user's files are read only

"""The demo workflow through a real Slurm (single node, started by .ci/slurm-up), with
profiles/slurm: the jobs go through Slurm, and the shards equal a local run's."""

import os
import re
import subprocess

import numpy as np
import pytest

from tests.workflow_utils import REPO, copy_demo, read_datasets, run_workflow

pytestmark = pytest.mark.skipif(
    os.environ.get("ADAIN_SLURM") != "1",
    reason="needs the single-node Slurm that .ci/run starts with .ci/slurm-up (ADAIN_SLURM=1)",
)

# The CI node: 2 CPUs, no accounting database (sacct fails), one fake GPU.
SMALL_NODE = [
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "3",
    "--seconds-between-status-checks",
    "3",
    "--set-resources",
    "stylize_shard:cpus_per_task=1",
    "stylize_shard:mem_mb=3000",
    "compute_painting_stats:cpus_per_task=1",
    "compute_painting_stats:mem_mb=3000",
]
# On the CPU, convolutions sum in an order that depends on the thread count: equal pixels need
# equal threads in both runs.
ONE_THREAD = ["--set-threads", "stylize_shard=1", "compute_painting_stats=1"]


def test_demo_through_slurm_equals_a_local_run(tmp_path, weights):
    root, config = copy_demo(tmp_path / "demo", weights)
    settings = {**config, "preset": "sin", "shard_size": 8}
    run_workflow(tmp_path / "local", *ONE_THREAD, **settings, output_dir=tmp_path / "local" / "out")
    run_workflow(
        tmp_path / "slurm",
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *SMALL_NODE,
        *ONE_THREAD,
        **settings,
        output_dir=tmp_path / "slurm" / "out",
    )

    # the jobs really went through Slurm: every rule's job has a Slurm log named by its job id,
    # and Slurm itself knows the jobs as completed
    logs = sorted((tmp_path / "slurm" / ".snakemake" / "slurm_logs").rglob("*.log"))
    job_ids = {int(p.stem) for p in logs if p.stem.isdigit()}
    groups = [p for p in logs if "group_shard" in str(p)]
    assert len(groups) == 3  # one Slurm job per shard: stylize + validate + pack together
    assert len(job_ids) >= 8
    for job_id in job_ids:
        state = subprocess.run(["scontrol", "show", "job", str(job_id)], capture_output=True, text=True).stdout
        assert re.search(r"JobState=COMPLETED", state), state

    local, slurm = tmp_path / "local" / "out" / "shards", tmp_path / "slurm" / "out" / "shards"
    shards = sorted(p.relative_to(local) for p in local.rglob("*.h5"))
    assert shards == sorted(p.relative_to(slurm) for p in slurm.rglob("*.h5")) and len(shards) == 3
    for shard in shards:
        first, second = read_datasets(local / shard), read_datasets(slurm / shard)
        for name in ("images", "labels", "content", "style"):
            np.testing.assert_array_equal(first[name], second[name])

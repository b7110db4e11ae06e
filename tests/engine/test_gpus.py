"""GPU slot assignment, tested on the CPU with fake device ids: distinct devices, waiting when all
are taken, and a killed job's device freed."""

import os
import signal
import subprocess
import sys
import time

import pytest

from adain.engine.gpus import claim_gpu, gpu_slot, visible_gpus

HOLDER = """
import sys, time
from adain.engine.gpus import claim_gpu
device, handle = claim_gpu(sys.argv[2].split(","), sys.argv[1], wait=0.05)
print(device, flush=True)
time.sleep(600)
"""


def _holder(lock_dir, devices):
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_dir), devices], stdout=subprocess.PIPE, text=True)


def test_jobs_get_distinct_devices_wait_when_all_are_taken_and_a_kill_frees_one(tmp_path):
    first = _holder(tmp_path, "0,1")
    second = third = None
    try:
        first_device = first.stdout.readline().strip()
        second = _holder(tmp_path, "0,1")
        second_device = second.stdout.readline().strip()
        assert {first_device, second_device} == {"0", "1"}
        third = _holder(tmp_path, "0,1")
        time.sleep(1.0)
        assert third.poll() is None  # still waiting: both devices are held
        with pytest.raises(TimeoutError):
            claim_gpu(["0", "1"], tmp_path, wait=0.05, timeout=0.3)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert third.stdout.readline().strip() == first_device  # the killed job's device
    finally:
        for process in (first, second, third):
            if process is not None:
                process.kill()
                process.wait()


def test_gpu_slot_sets_cuda_visible_devices_and_restores_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAIN_GPU_LOCK_DIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # e.g. what a scheduler granted
    assert visible_gpus() == ["3", "5"]
    with gpu_slot("auto") as device:
        assert device == "cuda" and os.environ["CUDA_VISIBLE_DEVICES"] == "3"
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # a second job beside this one
        with gpu_slot("cuda") as other:
            assert other == "cuda" and os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3,5"
    with gpu_slot("cpu") as device:
        assert device == "cpu"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with gpu_slot("auto") as device:  # no GPU at all: unchanged
        assert device == "auto"


def _holder_env(lock_dir, devices, **env):
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), devices],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_under_slurm_each_job_keys_its_own_devices(tmp_path):
    """With cgroup-bound GPUs every Slurm job sees its GPU as 0: jobs do not queue on one lock,
    while jobs inside one Slurm allocation still share its devices one at a time."""
    first = _holder_env(tmp_path, "0", SLURM_JOB_ID="101")
    other = same = None
    try:
        assert first.stdout.readline().strip() == "0"
        other = _holder_env(tmp_path, "0", SLURM_JOB_ID="202")
        assert other.stdout.readline().strip() == "0"  # another job's GPU 0: not waiting
        same = _holder_env(tmp_path, "0", SLURM_JOB_ID="101")
        time.sleep(1.0)
        assert same.poll() is None  # the same job's GPU 0 is taken: waits
        first.kill()
        first.wait()
        assert same.stdout.readline().strip() == "0"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu-slurm101-0.lock", "gpu-slurm202-0.lock"]
    finally:
        for process in (first, other, same):
            if process is not None:
                process.kill()
                process.wait()


EVALUATION_JOB = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from adain.evaluation.jobs import {job}
from adain.evaluation.settings import EvaluationSettings
settings = EvaluationSettings(models={{'m': {{'weights': 'w'}}}}, shapes='s', textures='t', device='auto', workers=0,
                              batch_size=2, stylize_batch_size=2)
{call}
"""


@pytest.mark.parametrize(
    "job, call",
    [
        ("make_cue_conflict_job", "make_cue_conflict_job(settings, vgg='v', decoder='d', out_dir='o')"),
        ("shape_bias_job", "shape_bias_job(settings, name='m', stimuli='s', out_dir='o')"),
        ("accuracy_job", "accuracy_job(settings, name='m', shards=[], out_json='o.json')"),
    ],
)
def test_evaluation_jobs_claim_a_gpu_like_stylize_jobs(tmp_path, job, call):
    env = {"ADAIN_GPU_LOCK_DIR": str(tmp_path), "CUDA_VISIBLE_DEVICES": "5"}
    holder = _holder_env(tmp_path, "5", **env)
    evaluation = None
    try:
        assert holder.stdout.readline().strip() == "5"
        evaluation = subprocess.Popen(
            [sys.executable, "-c", EVALUATION_JOB.format(job=job, call=call)],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            cwd=tmp_path,
        )
        waiting = evaluation.stderr.readline()  # its first words: it waits for GPU 5, held by the other job
        assert "all GPUs ['5'] are taken" in waiting and evaluation.poll() is None
        holder.kill()
        holder.wait()
        _, stderr = evaluation.communicate(timeout=120)  # then it takes it (and fails on these fake inputs)
        assert stderr.startswith("INFO:adain.engine.gpus:using GPU 5")
    finally:
        for process in (holder, evaluation):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_gpus_are_counted_without_nvidia_smi_and_without_initialising_cuda(tmp_path, monkeypatch):
    """Where only the driver and torch are installed (no nvidia-smi on the PATH, here no NVML
    either), the GPU device nodes count; other nvidia nodes do not; CUDA stays uninitialised."""
    import torch

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no nvidia-smi
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-modeset", "null"):
        (dev / name).touch()
    found = visible_gpus(dev)
    if torch.cuda.is_available():  # NVML answers first on a GPU machine: the real count
        assert len(found) == torch.cuda.device_count()
    else:
        assert found == ["0", "1"]
    assert visible_gpus(tmp_path / "missing") == ([] if not torch.cuda.is_available() else found)
    assert not torch.cuda.is_initialized()

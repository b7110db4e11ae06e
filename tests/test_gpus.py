"""GPU slot assignment, tested on the CPU with fake device ids: distinct devices, waiting when all
are taken, and a killed job's device freed."""
import os
import signal
import subprocess
import sys
import time

import pytest

from adain.gpus import claim_gpu, gpu_slot, visible_gpus

HOLDER = """
import sys, time
from adain.gpus import claim_gpu
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

"""One GPU per job on a multi-GPU machine: slots held with ``flock``, so a killed job frees its GPU.

Snakemake's ``--resources gpu=G`` caps how many GPU jobs run at once but never says which GPU a
job should use. Each job therefore claims a free device itself, by locking
``<lock_dir>/gpu-<id>.lock`` (node-local, ``/tmp`` by default), and runs with
``CUDA_VISIBLE_DEVICES=<id>``. The operating system drops the lock when the process exits, however
it exits, so a slot is never lost. Where a scheduler already bound the job to devices (Slurm sets
``CUDA_VISIBLE_DEVICES``), only those devices are candidates, and the locks are keyed by the Slurm
job: with cgroup-bound GPUs every job of a node sees its own GPU as ``0``, and Slurm never gives
one GPU to two jobs, so jobs of one node must not queue on one ``gpu-0`` lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..files.locking import try_lock

__all__ = ["visible_gpus", "claim_gpu", "gpu_slot", "default_lock_dir", "slot_lock_name"]

log = logging.getLogger(__name__)


def default_lock_dir() -> Path:
    return Path(os.environ.get("ADAIN_GPU_LOCK_DIR") or Path(tempfile.gettempdir()) / f"adain-gpus-{os.getuid()}")


def slot_lock_name(device: str) -> str:
    """The lock file of device id ``device`` (an index, a ``GPU-<uuid>`` or a MIG id); within a
    Slurm job, ids are the job's own and keyed by ``SLURM_JOB_ID``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", device)
    job = os.environ.get("SLURM_JOB_ID", "")
    return f"gpu-slurm{re.sub(r'[^0-9_]', '_', job)}-{safe}.lock" if job else f"gpu-{safe}.lock"


def visible_gpus(dev: str | Path = "/dev") -> list[str]:
    """Device ids this process may use, without initialising CUDA in this process (a controller
    that forks jobs must not): ``CUDA_VISIBLE_DEVICES`` if set; else the GPUs the driver's
    management library (NVML, installed with every NVIDIA driver) counts; else those ``nvidia-smi
    -L`` lists; else the GPU device nodes ``<dev>/nvidia<N>`` (a container shows only its own);
    else none. So GPUs are found where only the driver and torch are installed."""
    declared = os.environ.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        return [d.strip() for d in declared.split(",") if d.strip() and d.strip() != "-1"]
    count = _nvml_count()
    if count is None:
        count = _nvidia_smi_count()
    if count is None:
        count = _device_node_count(Path(dev))
    return [str(i) for i in range(count)]


def _nvml_count() -> int | None:
    """GPUs by NVML (``libnvidia-ml.so.1``), or ``None`` where it is missing or fails."""
    import ctypes

    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    count = ctypes.c_uint(0)
    try:
        if nvml.nvmlInit_v2() != 0:
            return None
        try:
            return int(count.value) if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else None
        finally:
            nvml.nvmlShutdown()
    except AttributeError:  # a library without these entry points
        return None


def _nvidia_smi_count() -> int | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sum(1 for row in listing.splitlines() if row.startswith("GPU "))


def _device_node_count(dev: Path) -> int:
    """``nvidia0``, ``nvidia1``, ... under ``dev`` (not ``nvidiactl``, ``nvidia-uvm``, ...)."""
    try:
        return sum(1 for entry in os.scandir(dev) if re.fullmatch(r"nvidia\d+", entry.name))
    except OSError:
        return 0


def claim_gpu(
    devices: list[str], lock_dir: str | Path | None = None, wait: float = 0.5, timeout: float | None = None
) -> tuple[str, IO]:
    """Lock the first free device of ``devices``, waiting while all are taken.

    Returns:
        ``(device id, open lock file)``: keep the file open while using the device.

    Raises:
        TimeoutError: no device became free within ``timeout`` seconds.
    """
    if not devices:
        raise ValueError("no GPU to claim")
    folder = Path(lock_dir) if lock_dir else default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    start, announced = time.monotonic(), False
    while True:
        for device in devices:
            handle = try_lock(folder / slot_lock_name(device))
            if handle is None:
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            return device, handle
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"no free GPU among {devices} after {timeout:.0f} s")
        if not announced:
            log.info("all GPUs %s are taken by other jobs; waiting for one to free up", devices)
            announced = True
        time.sleep(wait)


@contextlib.contextmanager
def gpu_slot(device: str) -> Iterator[str]:
    """For ``device`` ``auto`` or ``cuda`` on a machine with GPUs: claim one, expose only it
    (``CUDA_VISIBLE_DEVICES``) and yield ``"cuda"``; otherwise yield ``device`` unchanged.
    Must run before CUDA is initialised in this process."""
    if device not in ("auto", "cuda"):
        yield device
        return
    devices = visible_gpus()
    if not devices:
        yield device
        return
    chosen, handle = claim_gpu(devices)
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = chosen
    log.info("using GPU %s (of %s)", chosen, devices)
    try:
        yield "cuda"
    finally:
        if previous is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = previous
        handle.close()

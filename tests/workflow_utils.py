"""Helpers of the end-to-end workflow tests: running Snakemake on a copy of the demo tree."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def workflow_command(workdir: Path, config: dict, extra=(), configfiles=()) -> list[str]:
    """The ``snakemake --cores 2`` command line of :func:`run_workflow` and :func:`start_workflow`."""
    overrides = [f"{key}={value}" for key, value in config.items()]
    return [
        *SNAKEMAKE,
        "-s",
        str(REPO / "Snakefile"),
        "--configfile",
        str(REPO / "config.yaml"),
        *map(str, configfiles),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *extra,
        "--config",
        *overrides,
    ]


def run_workflow(
    workdir: Path, *extra: str, check: bool = True, configfiles=(), **config
) -> subprocess.CompletedProcess:
    """``snakemake --cores 2`` in ``workdir`` with the repository's Snakefile and config overrides
    (``configfiles`` after the repository's config.yaml, then ``config`` keys)."""
    result = subprocess.run(
        workflow_command(workdir, config, extra, configfiles), capture_output=True, text=True, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


def start_workflow(workdir: Path, config: dict, output=subprocess.DEVNULL) -> subprocess.Popen:
    """``snakemake --cores 2`` like :func:`run_workflow`, in the background, in a process group of
    its own (for :func:`kill_group`)."""
    command = workflow_command(workdir, config)
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, text=True)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the workflow and every job it started, as a preempted machine would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for(condition, process, timeout=120.0) -> bool:
    """Poll ``condition`` while ``process`` runs; whether it held before the process ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(0.02)
    return False


def copy_demo(root: Path, weights) -> tuple[Path, dict]:
    """A copy of the demo tree with a broken and a CMYK content image, and the run's base config."""
    shutil.copytree(REPO / "demo" / "imagenet", root / "imagenet")
    shutil.copytree(REPO / "demo" / "paintings", root / "paintings")
    cat = root / "imagenet" / "train" / "n02123045"
    (cat / "n02123045_broken.JPEG").write_bytes((cat / "n02123045_train_0.JPEG").read_bytes()[:300])
    Image.open(cat / "n02123045_train_1.JPEG").convert("CMYK").save(cat / "n02123045_cmyk.JPEG")
    vgg, decoder = weights
    config = dict(
        content_dir=root / "imagenet",
        style_dir=root / "paintings",
        vgg_weights=vgg,
        decoder_weights=decoder,
        device="cpu",
        workers=1,
    )
    return root, config


def read_datasets(path: Path) -> dict:
    with h5py.File(path, "r") as handle:
        return {name: handle[name][()] for name in handle}

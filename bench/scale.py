"""How the whole workflow's cost grows with the dataset, on real files.

Builds a synthetic ImageNet-shaped tree (1,000 class folders of small JPEGs, so that 160 k images
fit these disks) and runs the whole workflow on it with a cheap method (``none``: decode, resize,
store; no network) at growing sizes, then measures what a user waits for:

* wall time of the run, and per rule: jobs, the job processes' seconds (Python start, imports and
  work) and their peak memory (VmHWM, sampled every 50 ms);
* Snakemake's own cost: the controller's CPU seconds per job and its peak memory;
* a second, no-op run (a resume that finds everything done), ``adain status`` and ``adain verify``.

It prints a growth table: each cost per image at every size, and the ratio of the largest size's
to the smallest's (target <= 1.3 for the costs that scale with the images), then extrapolates to
ILSVRC-2012's 1,281,167 training images (jobs, controller time and memory, wall time on this
machine's cores).

    python bench/scale.py [--sizes 10000 40000 160000] [--shard-size 2500] [--method none]
                          [--root /tmp/adain-scale] [--json scale.json] [--scheduler greedy]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine  # noqa: E402

CLASSES, IMAGENET_TRAIN = 1000, 1_281_167
#: Rules whose cost is meant to grow with the number of images (the others are fixed per run).
PER_IMAGE = ("index_images", "assign_styles", "stylize_shard", "validate_shard", "pack_shard", "summarize")


def tiny_jpegs(count: int = 16, seed: int = 0) -> list[bytes]:
    """Small JPEGs of varied sizes and content (a smooth gradient with noise: compresses like a photo)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        w, h = int(rng.integers(40, 72)), int(rng.integers(40, 72))
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([(x * (3 + i)) % 256, (y * (5 + i)) % 256, (x + y) * 2 % 256], -1)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(noisy).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def make_tree(root: Path, images: int) -> tuple[Path, Path]:
    """``<root>/content/train/<wnid>/<wnid>_<i>.JPEG`` (1,000 classes) and ``<root>/paintings``."""
    jpegs = tiny_jpegs()
    content = root / "content"
    per_class, extra = divmod(images, CLASSES)
    for c in range(CLASSES):
        wnid = f"n{c:08d}"
        folder = content / "train" / wnid
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class + (c < extra)):
            (folder / f"{wnid}_{i}.JPEG").write_bytes(jpegs[(c + i) % len(jpegs)])
    paintings = root / "paintings"
    paintings.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(tiny_jpegs(8, seed=1)):
        Image.open(io.BytesIO(data)).resize((256, 256)).save(paintings / f"{i:05d}.jpg")
    return content, paintings


class ProcessWatch:
    """Samples a process and all its descendants every ``interval`` s: lifetimes and peak memory."""

    def __init__(self, process: subprocess.Popen, interval: float = 0.05) -> None:
        self.root = psutil.Process(process.pid)
        self.interval, self.seen, self.controller_cpu, self.controller_peak = interval, {}, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _hwm(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as status:
                return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
        except (OSError, StopIteration):
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                times = self.root.cpu_times()
                self.controller_cpu = times.user + times.system
                self.controller_peak = max(self.controller_peak, self._hwm(self.root.pid))
                children = self.root.children(recursive=True)
            except psutil.Error:
                break
            for child in children:
                entry = self.seen.get(child.pid)
                if entry is None:
                    try:
                        entry = self.seen[child.pid] = {"cmd": " ".join(child.cmdline()), "start": now, "peak": 0}
                    except psutil.Error:
                        continue
                entry["end"] = now
                entry["peak"] = max(entry["peak"], self._hwm(child.pid))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def jobs(self) -> dict[str, dict]:
        """Per rule (from the job script's name): jobs, process seconds, peak memory (bytes)."""
        rules: dict[str, dict] = {}
        for entry in self.seen.values():
            script = next((p for p in entry["cmd"].split() if p.endswith(".py") and "/scripts/" in p), None)
            if script is None:
                continue
            rule = Path(script).stem.split(".")[-1]  # .snakemake/scripts/tmpXXXX.<rule>.py
            row = rules.setdefault(rule, {"jobs": 0, "seconds": 0.0, "peak": 0})
            row["jobs"] += 1
            row["seconds"] += entry["end"] - entry["start"]
            row["peak"] = max(row["peak"], entry["peak"])
        return rules


def snakemake(work: Path, config: dict, cores: int, extra: tuple[str, ...] = ()) -> dict:
    """One ``snakemake --cores N`` run, watched."""
    command = [sys.executable, "-m", "snakemake", *extra, "-s", str(REPO / "Snakefile"), "--configfile"]
    command += [str(REPO / "config.yaml"), "--directory", str(work), "--cores", str(cores), "--config"]
    command += [f"{k}={v}" for k, v in config.items()]
    start = time.monotonic()
    with open(work / "snakemake.log", "a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        watch = ProcessWatch(process)
        code = process.wait()
    wall = time.monotonic() - start
    watch.stop()
    if code:
        raise SystemExit(f"snakemake failed ({code}); see {work / 'snakemake.log'}")
    rules = watch.jobs()
    return {
        "processes": [{**e, "start": e["start"] - start, "end": e["end"] - start} for e in watch.seen.values()],
        "wall": wall,
        "rules": rules,
        "jobs": sum(r["jobs"] for r in rules.values()),
        "controller_cpu": watch.controller_cpu,
        "controller_peak": watch.controller_peak,
    }


def timed(command: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    return time.monotonic() - start


def run_size(root: Path, images: int, shard_size: int, method: str, cores: int, extra: tuple[str, ...] = ()) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    start = time.monotonic()
    content, paintings = make_tree(root, images)
    made = time.monotonic() - start
    out = root / "out"
    config = {
        "content_dir": content,
        "style_dir": paintings,
        "splits": "[train]",
        "output_dir": out,
        "preset": 64,
        "stylize_size_64": 64,
        "shard_size": shard_size,
        "method": method,
        "device": "cpu",
        "workers": 1,
        "cpu_threads": 1,
        "batch_size": 64,
    }
    first = snakemake(root, config, cores, extra)
    again = snakemake(root, config, cores, extra)  # a resume that finds everything done
    adain = [sys.executable, "-m", "adain"]
    result = {
        "images": images,
        "tree_seconds": made,
        "run": first,
        "noop_seconds": again["wall"],
        "noop_controller_peak": again["controller_peak"],
        "status_seconds": timed([*adain, "status", str(out)]),
        "verify_seconds": timed([*adain, "verify", str(out), "--workers", str(cores)]),
    }
    summary = json.loads((out / "summary.json").read_text())
    result["packed"] = summary["splits"]["train"]["packed"]
    return result


def _ms(seconds: float, images: int) -> str:
    return f"{1000 * seconds / images:8.3f}"


def report(results: list[dict], shard_size: int, cores: int) -> str:
    small, large = results[0], results[-1]
    header = f"{'cost (ms per image)':34}" + "".join(f"{r['images']:>10,}" for r in results) + "  growth"
    lines = [header, "-" * len(header)]

    def row(name: str, costs: list[float], scaled: bool = True) -> None:
        per = [c / r["images"] for c, r in zip(costs, results)]
        growth = f"{per[-1] / per[0]:6.2f}x" if scaled and per[0] > 0 else "  fixed"
        lines.append(f"{name:34}" + "".join(f"{1000 * p:10.3f}" for p in per) + f"  {growth}")

    row("whole run (wall)", [r["run"]["wall"] for r in results])
    rules = sorted({rule for r in results for rule in r["run"]["rules"]})
    for rule in rules:
        costs = [r["run"]["rules"].get(rule, {}).get("seconds", 0.0) for r in results]
        row(f"  {rule} (job seconds)", costs, scaled=rule in PER_IMAGE)
    row("Snakemake controller (CPU)", [r["run"]["controller_cpu"] for r in results])
    row("no-op rerun (wall)", [r["noop_seconds"] for r in results])
    row("adain status (wall)", [r["status_seconds"] for r in results], scaled=False)
    row("adain verify (wall)", [r["verify_seconds"] for r in results])
    lines.append("")
    lines.append(f"{'':34}" + "".join(f"{r['images']:>10,}" for r in results))
    lines.append(f"{'jobs':34}" + "".join(f"{r['run']['jobs']:>10}" for r in results))
    per_job = [r["run"]["controller_cpu"] / r["run"]["jobs"] for r in results]
    lines.append(f"{'controller CPU per job (s)':34}" + "".join(f"{p:10.3f}" for p in per_job))
    mib = lambda b: f"{b / 2**20:10.0f}"  # noqa: E731
    lines.append(f"{'controller peak (MiB)':34}" + "".join(mib(r["run"]["controller_peak"]) for r in results))
    job_peak = [max(v["peak"] for v in r["run"]["rules"].values()) for r in results]
    lines.append(f"{'largest job peak (MiB)':34}" + "".join(mib(p) for p in job_peak))
    lines.append(f"{'tree made in (s)':34}" + "".join(f"{r['tree_seconds']:10.1f}" for r in results))

    # extrapolation to the training split: linear fits through the smallest and largest sizes
    def fit(y_small: float, y_large: float, n: float) -> float:
        """Linear through both sizes; never below the largest size's figure (fixed costs, noise)."""
        slope = (y_large - y_small) / (large["images"] - small["images"])
        return max(y_large, y_small + slope * (n - small["images"]))

    n = IMAGENET_TRAIN
    if large["images"] == small["images"]:
        return "\n".join([*lines, "", "(give two sizes or more for the growth and the extrapolation)"])
    jobs = fit(small["run"]["jobs"], large["run"]["jobs"], n)
    lines += [
        "",
        f"extrapolated to {n:,} training images (shard_size {shard_size}, {math.ceil(n / shard_size)} shards):",
        f"  jobs {jobs:,.0f}; Snakemake controller CPU {fit(small['run']['controller_cpu'], large['run']['controller_cpu'], n) / 60:.1f} min; "
        f"controller peak {fit(small['run']['controller_peak'], large['run']['controller_peak'], n) / 2**20:.0f} MiB",
        f"  whole run with this method on {cores} cores: {fit(small['run']['wall'], large['run']['wall'], n) / 3600:.2f} h; "
        f"no-op rerun {fit(small['noop_seconds'], large['noop_seconds'], n):.0f} s; "
        f"verify {fit(small['verify_seconds'], large['verify_seconds'], n) / 60:.1f} min",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000, 160_000])
    parser.add_argument("--shard-size", type=int, default=2500, help="images per shard (README: a few thousand)")
    parser.add_argument("--method", default="none", choices=["none", "gaussian"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("/tmp/adain-scale"))
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--scheduler", help="Snakemake's --scheduler (greedy, ilp); default: the workflow's")
    parser.add_argument("--keep", action="store_true", help="keep the last tree and output folder")
    args = parser.parse_args()
    print(machine(), flush=True)
    results = []
    for images in sorted(args.sizes):
        extra = ("--scheduler", args.scheduler) if args.scheduler else ()
        result = run_size(args.root, images, args.shard_size, args.method, args.cores, extra)
        assert result["packed"] == images, f"{result['packed']} of {images} images packed"
        print(
            f"{images:,} images: {result['run']['wall']:.0f} s, {result['run']['jobs']} jobs, "
            f"no-op rerun {result['noop_seconds']:.1f} s",
            flush=True,
        )
        results.append(result)
    if not args.keep:
        shutil.rmtree(args.root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print()
    print(report(results, args.shard_size, args.cores))


if __name__ == "__main__":
    main()

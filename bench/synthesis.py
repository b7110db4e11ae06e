"""Cost of ``adain synthesize``: loss evaluations per second and seconds per picture and per photo.

Each evaluation is one forward and backward pass of the normalised VGG-19 to pool4 (the authors'
network, :func:`adain.evaluation.gatys_vgg.gatys_vgg`) at ``size x size``, plus the Top-K masks
when the task and mask need them. A short run of ``--steps`` L-BFGS steps per (task, mask) gives
evaluations/s and evaluations per step; the authors' full settings (100 steps for texture, 1 for
reconstruct, 20 iterations a step) are extrapolated from them, and said so. Random release-format
weights: the time per evaluation does not depend on the values; the evaluations per step (line
search) may differ a little with the real weights.

    python bench/synthesis.py [--device cpu] [--size 256] [--steps 1] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from adain.core.weights import write_random_weights  # noqa: E402
from adain.evaluation.gatys_vgg import gatys_vgg  # noqa: E402
from adain.evaluation.settings import MASKS, TASK_DEFAULTS  # noqa: E402
from adain.evaluation.synthesis import synthesize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1, help="L-BFGS steps measured per (task, mask)")
    parser.add_argument(
        "--runs", nargs="+", default=["texture:all", "texture:nontopk", "reconstruct:topk"], metavar="TASK:MASK"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load = os.getloadavg()[0]
    print(
        f"{machine()}; device {device}, {torch.get_num_threads()} torch threads, load average {load:.2f}; "
        f"{args.size}x{args.size}, {args.steps} step(s) of 20 iterations measured"
    )
    with tempfile.TemporaryDirectory() as tmp:
        vgg, _ = write_random_weights(Path(tmp))
        network = gatys_vgg(vgg).to(device)
    photo = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0)).to(device)
    target = network.to_input(photo)
    layers = network.indices()
    synthesize(network.net, layers, target, "reconstruct", "all", steps=1, max_iter=2)  # warm-up
    rows = []
    for run in args.runs:
        task, mask = run.split(":")
        counted = []
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        synthesize(
            network.net, layers, target, task, mask, steps=args.steps, progress=lambda *a, seen=counted: seen.append(a)
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        evaluations = counted[-1][2]
        full_steps = TASK_DEFAULTS[task]["steps"]
        per_picture = seconds / args.steps * full_steps
        row = {
            "task": task,
            "mask": mask,
            "steps_measured": args.steps,
            "evaluations": evaluations,
            "seconds": round(seconds, 2),
            "evaluations_per_s": round(evaluations / seconds, 3),
            "evaluations_per_step": round(evaluations / args.steps, 1),
            "authors_steps": full_steps,
            "seconds_per_picture": round(per_picture, 1),
            "seconds_per_photo_3_masks": round(3 * per_picture, 1),
            "extrapolated": args.steps != full_steps,
        }
        rows.append(row)
        note = f" (extrapolated from {args.steps} to {full_steps} steps)" if row["extrapolated"] else " (measured)"
        print(
            f"{task:11s} {mask:8s} {evaluations:4d} evaluations in {seconds:7.1f} s = {row['evaluations_per_s']:.2f}/s, "
            f"{row['evaluations_per_step']:.0f} per step; per picture {per_picture:8.0f} s, per photo with "
            f"{len(MASKS)} masks {3 * per_picture:8.0f} s{note}"
        )
    if args.json:
        record = {"machine": machine(), "device": str(device), "threads": torch.get_num_threads(), "rows": rows}
        record["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]  # at the start and the end
        Path(args.json).write_text(json.dumps(record, indent=1))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

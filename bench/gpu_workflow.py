"""One end-to-end workflow run over a synthetic ImageNet-shaped tree, timed per stage.

Makes ``--images`` JPEGs of ImageNet's size and quality mix in ``--classes`` class folders and
``--paintings`` painting stand-ins (crops of real photos, made in parallel), random release-format
weights, then runs ``snakemake --resources gpu=1`` (or on the CPU) and reads each stage's span
from the job logs' own timestamps: first line of the stage's first job to last line of its last.
Prints one JSON line: wall seconds, images/s overall and per stage (bench/gpu_check.py part 5).

    python bench/gpu_workflow.py --out /tmp/wf --images 20000 --classes 100 --paintings 500
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import QUALITIES, SIZE_WEIGHTS, SIZES, _photos

REPO = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _write_class(args: tuple[Path, int, list[int], int]) -> int:
    root, label, numbers, seed = args
    rng = np.random.default_rng(seed)
    photos = _photos()
    folder = root / "train" / f"n{label:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in numbers:
        source = photos[i % len(photos)]
        width, height = SIZES[rng.choice(len(SIZES), p=SIZE_WEIGHTS)]
        h, w = source.shape[:2]
        side = int(min(h, w) * rng.uniform(0.5, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = Image.fromarray(source[top : top + side, left : left + side]).resize((width, height), Image.BILINEAR)
        crop.save(folder / f"n{label:08d}_{i}.JPEG", quality=int(rng.choice(QUALITIES)))
    return len(numbers)


def _write_paintings(args: tuple[Path, list[int]]) -> int:
    root, numbers = args
    photos = _photos()
    rng = np.random.default_rng(numbers[0] if numbers else 0)
    for i in numbers:
        source = photos[i % len(photos)]
        h, w = source.shape[:2]
        side = int(min(h, w) * rng.uniform(0.4, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        Image.fromarray(source[top : top + side, left : left + side]).resize((640, 480), Image.BILINEAR).save(
            root / f"painting_{i:05d}.jpg", quality=90
        )
    return len(numbers)


def make_tree(root: Path, images: int, classes: int, paintings: int, processes: int) -> None:
    (root / "paintings").mkdir(parents=True, exist_ok=True)
    per_class = [list(range(label, images, classes)) for label in range(classes)]
    with ProcessPoolExecutor(processes) as pool:
        list(
            pool.map(
                _write_class, [(root / "imagenet", label, numbers, label) for label, numbers in enumerate(per_class)]
            )
        )
        chunks = [list(range(start, paintings, processes)) for start in range(processes)]
        list(pool.map(_write_paintings, [(root / "paintings", chunk) for chunk in chunks if chunk]))


def stage_spans(logs: Path) -> dict[str, float]:
    """rule -> seconds from the first to the last timestamped line over its jobs' logs."""
    spans: dict[str, list[datetime]] = {}
    for path in logs.rglob("*.log"):
        rule = path.relative_to(logs).parts[0].removesuffix(".log")
        for line in path.read_text(errors="replace").splitlines():
            match = STAMP.match(line)
            if match:
                spans.setdefault(rule, []).append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f"))
    return {rule: round((max(times) - min(times)).total_seconds(), 2) for rule, times in spans.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--paintings", type=int, default=500)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="toy settings for the CPU (a test)")
    args = parser.parse_args()
    root = Path(args.out).resolve()
    cores = os.cpu_count() or 2
    start = time.monotonic()
    make_tree(root, args.images, args.classes, args.paintings, max(1, min(cores, 16)))
    made = time.monotonic()
    from adain.core.weights import write_random_weights

    vgg, decoder = write_random_weights(root / "weights")
    shard_size = 8 if args.tiny else 2500
    config = {
        "content_dir": root / "imagenet",
        "style_dir": root / "paintings",
        "vgg_weights": vgg,
        "decoder_weights": decoder,
        "output_dir": root / "out",
        "device": args.device,
        "shard_size": shard_size,
        "workers": 1 if args.tiny else max(2, cores - 4),
        "batch_size": 4 if args.tiny else 64,
    }
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--configfile",
        str(REPO / "config.yaml"),
        "--directory",
        str(root),
        "--cores",
        str(cores),
        "--quiet",
        "rules",
        *(["--resources", "gpu=1"] if args.device.startswith("cuda") else []),
        "--config",
        *[f"{key}={value}" for key, value in config.items()],
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    finished = time.monotonic()
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-5000:], file=sys.stderr)
        raise SystemExit(f"snakemake failed ({result.returncode})")
    summary = json.loads((root / "out" / "summary.json").read_text())
    spans = stage_spans(root / "out" / "logs")
    wall = finished - made
    stylize = spans.get("stylize_shard")
    print(
        json.dumps(
            {
                "images": args.images,
                "classes": args.classes,
                "paintings": args.paintings,
                "device": args.device,
                "tree_seconds": round(made - start, 1),
                "workflow_seconds": round(wall, 1),
                "images_per_s": round(args.images / wall, 1),
                "summary_images_per_s": summary.get("images_per_second"),
                "stages": {
                    rule: f"{seconds} s" + (f" ({args.images / seconds:.0f} img/s)" if seconds else "")
                    for rule, seconds in sorted(spans.items())
                },
                "stylize_share_of_wall": round(stylize / wall, 3) if stylize else None,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Work shared by the benchmarks: ImageNet-like JPEGs made from real photos, and the inputs of a
stylize job (index, manifest, painting statistics, release-format random weights) made with the
package's own functions, as the workflow makes them.

With ``ADAIN_BENCH_INPUTS=<folder>`` set, :func:`job_inputs` makes each kind of input once under
that folder and hands the same files to every later call (the parts of bench/gpu_check.py and the
CUDA tests share them); callers only read them. As a script it makes them ahead:

    ADAIN_BENCH_INPUTS=/tmp/inputs python bench/common.py --images 1024 --presets sin,64,full
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

#: ImageNet's common sizes (width, height) and how often they occur (roughly, from the train set:
#: most images are 500 px on the long side, landscape 4:3 first).
SIZES = [(500, 375), (375, 500), (500, 333), (500, 500), (333, 500), (640, 480), (400, 300), (500, 400)]
SIZE_WEIGHTS = [0.40, 0.12, 0.14, 0.06, 0.06, 0.08, 0.07, 0.07]
QUALITIES = [75, 85, 90, 92, 95]  # ImageNet's JPEG qualities vary; 90-95 are most common
PHOTOS = [
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "camera",
    "coins",
    "cat",
    "page",
    "moon",
    "text",
]


def machine() -> str:
    """One line: CPU model, cores, Python and torch."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def _photos() -> list[np.ndarray]:
    from skimage import data

    photos = []
    for name in PHOTOS:
        try:
            image = getattr(data, name)()
        except Exception:  # noqa: BLE001 - a photo skimage would have to download
            continue
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        photos.append(image[..., :3])
    return photos


def make_imagenet_like(root: Path, count: int, classes: int = 4, seed: int = 0) -> Path:
    """``count`` JPEGs under ``root/train/n0000000<k>/``: random crops of real photos at ImageNet's
    size mix and quality mix (about 10% greyscale, as in ImageNet). Returns ``root``. The draws
    are made in order from ``seed``; the images are written by several processes when there are
    many (the same files either way)."""
    rng = np.random.default_rng(seed)
    shapes = [photo.shape[:2] for photo in _photos()]
    draws = []
    for i in range(count):
        h, w = shapes[i % len(shapes)]
        width, height = SIZES[rng.choice(len(SIZES), p=SIZE_WEIGHTS)]
        side = int(min(h, w) * rng.uniform(0.5, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        grey = rng.random() < 0.1
        quality = int(rng.choice(QUALITIES))
        folder = root / "train" / f"n{i % classes:08d}"
        draws.append((folder / f"n{i % classes:08d}_{i}.JPEG", i, (width, height), side, top, left, grey, quality))
    processes = min(os.cpu_count() or 1, 16) if count >= 256 else 1
    if processes > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_write_crops, [draws[k::processes] for k in range(processes)]))
    else:
        _write_crops(draws)
    return root


def _write_crops(draws: list[tuple]) -> None:
    photos = _photos()
    for path, i, size, side, top, left, grey, quality in draws:
        source = photos[i % len(photos)]
        crop = Image.fromarray(source[top : top + side, left : left + side]).resize(size, Image.BICUBIC)
        if grey:
            crop = crop.convert("L")
        path.parent.mkdir(parents=True, exist_ok=True)
        crop.save(path, quality=quality)


def make_paintings(root: Path, count: int = 4) -> Path:
    """``count`` painting stand-ins (~800x600 crops of real photos)."""
    root.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(_photos()[-count:]):
        Image.fromarray(source).resize((800, 600), Image.BICUBIC).save(root / f"painting_{i}.jpg", quality=95)
    return root


@dataclass
class JobInputs:
    """What one stylize job reads."""

    content_dir: Path
    manifest: Path
    stats_h5: Path | None
    vgg: Path
    decoder: Path
    count: int
    paintings: Path | None = None


def job_inputs(root: Path, count: int, preset: str, adain: bool = True, stylize_size_64: int = 256) -> JobInputs:
    """Contents, paintings, weights, index, one manifest of all ``count`` images, and (for
    ``adain``) the painting statistics, made as the workflow makes them, under ``root``; with
    ``ADAIN_BENCH_INPUTS`` set, made once there and shared (``root`` is then only created, for the
    caller's own outputs)."""
    shared = os.environ.get("ADAIN_BENCH_INPUTS")
    if not shared:
        return _make_job_inputs(Path(root), count, preset, adain, stylize_size_64)
    Path(root).mkdir(parents=True, exist_ok=True)
    return _shared_job_inputs(Path(shared), count, preset, adain, stylize_size_64)


def _shared_job_inputs(folder: Path, count: int, preset: str, adain: bool, stylize_size_64: int) -> JobInputs:
    """The inputs of one kind under ``folder``, made by the first caller (others wait on a lock)."""
    import json
    import shutil

    from adain.files.locking import held_lock

    key = f"{preset}-{count}-{'adain' if adain else 'plain'}-{stylize_size_64}"
    home, done = folder / key, folder / f"{key}.json"
    folder.mkdir(parents=True, exist_ok=True)
    with held_lock(folder / f"{key}.lock"):
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)
            made = _make_job_inputs(home, count, preset, adain, stylize_size_64)
            done.write_text(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in vars(made).items()}))
    fields = json.loads(done.read_text())
    return JobInputs(**{k: Path(v) if isinstance(v, str) else v for k, v in fields.items()})


def _make_job_inputs(root: Path, count: int, preset: str, adain: bool, stylize_size_64: int) -> JobInputs:
    from adain.core.weights import write_random_weights
    from adain.engine.presets import get_preset
    from adain.stages.assign_styles import write_manifests
    from adain.stages.index_images import write_index
    from adain.stages.paintings import compute_stats, merge_stats

    content = make_imagenet_like(root / "imagenet", count)
    vgg, decoder = (
        write_random_weights(root / "weights")
        if not (root / "weights").exists()
        else (root / "weights" / "vgg_normalised.pth", root / "weights" / "decoder.pth")
    )
    write_index(content, ["train"], root / "index" / "images.tsv", root / "index" / "classes.tsv", ["JPEG"])
    stats_h5 = names = paintings = None
    if adain:
        paintings = make_paintings(root / "paintings")
        names = sorted(p.name for p in paintings.iterdir())
        recipe = get_preset(preset, stylize_size_64).painting
        compute_stats(paintings, names, vgg, decoder, recipe, root / "stats.npz", None, device="cpu", workers=0)
        stats_h5 = root / "stats.h5"
        merge_stats([root / "stats.npz"], root / "stats_rejected.tsv", stats_h5, {})
    write_manifests(root / "index" / "images.tsv", names, 0, count, root / "manifest")
    return JobInputs(content, root / "manifest" / "train" / "00000.tsv", stats_h5, vgg, decoder, count, paintings)


#: What tests/test_cuda.py asks for: (preset, images).
CUDA_TEST_INPUTS = [("sin", 6), ("64", 6), ("full", 6), ("sin", 32), ("sin", 40), ("sin", 48)]


def main() -> None:
    """Make the inputs of bench/gpu.py (``--images`` per preset; ``full`` half as many) and, with
    ``--test-inputs``, those of the CUDA tests, under ``ADAIN_BENCH_INPUTS``."""
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--presets", default="sin,64,full")
    parser.add_argument("--test-inputs", action="store_true", help="also tests/test_cuda.py's inputs")
    args = parser.parse_args()
    if not os.environ.get("ADAIN_BENCH_INPUTS"):
        raise SystemExit("set ADAIN_BENCH_INPUTS to the folder the inputs go to")
    start = time.monotonic()
    wanted = [(p, args.images if p != "full" else max(1, args.images // 2)) for p in args.presets.split(",") if p]
    wanted += [("sin", max(2, args.images // 4)), ("sin", min(args.images, 64))]  # bench/gpu.py: loop, drift
    wanted += CUDA_TEST_INPUTS if args.test_inputs else []
    for preset, count in dict.fromkeys(wanted):
        job_inputs(Path(os.environ["ADAIN_BENCH_INPUTS"]) / "callers", count, preset)
    print(json.dumps({"inputs": len(dict.fromkeys(wanted)), "seconds": round(time.monotonic() - start, 1)}))


if __name__ == "__main__":
    main()

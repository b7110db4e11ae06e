"""Work shared by the benchmarks: ImageNet-like JPEGs made from real photos, and the inputs of a
stylize job (index, manifest, painting statistics, release-format random weights) made with the
package's own functions, as the workflow makes them."""

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
    size mix and quality mix (about 10% greyscale, as in ImageNet). Returns ``root``."""
    rng = np.random.default_rng(seed)
    photos = _photos()
    for i in range(count):
        source = photos[i % len(photos)]
        width, height = SIZES[rng.choice(len(SIZES), p=SIZE_WEIGHTS)]
        h, w = source.shape[:2]
        side = int(min(h, w) * rng.uniform(0.5, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = Image.fromarray(source[top : top + side, left : left + side]).resize((width, height), Image.BICUBIC)
        if rng.random() < 0.1:
            crop = crop.convert("L")
        folder = root / "train" / f"n{i % classes:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        crop.save(folder / f"n{i % classes:08d}_{i}.JPEG", quality=int(rng.choice(QUALITIES)))
    return root


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


def job_inputs(root: Path, count: int, preset: str, adain: bool = True, stylize_size_64: int = 256) -> JobInputs:
    """Contents, paintings, weights, index, one manifest of all ``count`` images, and (for
    ``adain``) the painting statistics, made as the workflow makes them."""
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
    stats_h5 = names = None
    if adain:
        paintings = make_paintings(root / "paintings")
        names = sorted(p.name for p in paintings.iterdir())
        recipe = get_preset(preset, stylize_size_64).painting
        compute_stats(paintings, names, vgg, decoder, recipe, root / "stats.npz", None, device="cpu", workers=0)
        stats_h5 = root / "stats.h5"
        merge_stats([root / "stats.npz"], root / "stats_rejected.tsv", stats_h5, {})
    write_manifests(root / "index" / "images.tsv", names, 0, count, root / "manifest")
    return JobInputs(content, root / "manifest" / "train" / "00000.tsv", stats_h5, vgg, decoder, count)

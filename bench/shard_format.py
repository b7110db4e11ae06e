"""Which HDF5 layout for fixed-size shards: compression filters measured side by side.

For each filter (none, gzip, lzf, blosc+lz4 and blosc+zstd via hdf5plugin) and each image size
(64 and 224): write speed, sequential read speed (whole shard), random read speed and bytes per image. Images are crops of the
photos shipped with scikit-image, with a per-pixel texture added (``--noise``) so they compress
like stylized images do (which keep the painting's fine brush-stroke detail). Random reads: batches of 256 sorted random
rows, read with one fancy index, or one simple index per row (what ShardDataset does).

    python bench/shard_format.py [--images 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from PIL import Image
from skimage import data

FILTERS = {"none": {}, "gzip-4": {"compression": "gzip", "compression_opts": 4}, "lzf": {"compression": "lzf"}}


def blosc_filters() -> dict:
    try:
        import hdf5plugin
    except ImportError:
        return {}
    return {
        "blosc-lz4": dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE)),
        "blosc-zstd": dict(hdf5plugin.Blosc(cname="zstd", clevel=3, shuffle=hdf5plugin.Blosc.SHUFFLE)),
    }


def make_images(count: int, size: int, noise: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    photos = [
        np.asarray(Image.fromarray(getattr(data, n)()).convert("RGB"))
        for n in ("astronaut", "coffee", "chelsea", "rocket")
    ]
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        photo = photos[i % len(photos)]
        side = rng.integers(min(photo.shape[:2]) // 3, min(photo.shape[:2]))
        top, left = rng.integers(0, photo.shape[0] - side + 1), rng.integers(0, photo.shape[1] - side + 1)
        crop = Image.fromarray(photo[top : top + side, left : left + side]).resize((size, size), Image.BILINEAR)
        texture = rng.normal(0, noise, (size, size, 3)) if noise else 0.0
        out[i] = np.clip(np.asarray(crop, dtype=float) + texture, 0, 255).astype(np.uint8)
    return out


def measure(path: Path, images: np.ndarray, options: dict) -> dict:
    n = len(images)
    start = time.perf_counter()
    with h5py.File(path, "w") as handle:
        handle.create_dataset("images", data=images, chunks=(1, *images.shape[1:]), **options)
    write = n / (time.perf_counter() - start)
    start = time.perf_counter()
    with h5py.File(path, "r") as handle:
        handle["images"][()]
    sequential = n / (time.perf_counter() - start)
    rng = np.random.default_rng(1)
    batches = [np.sort(rng.choice(n, 256, replace=False)) for _ in range(max(1, n // 256))]
    start = time.perf_counter()
    with h5py.File(path, "r") as handle:
        for rows in batches:
            handle["images"][rows]
    fancy = 256 * len(batches) / (time.perf_counter() - start)
    start = time.perf_counter()
    with h5py.File(path, "r") as handle:
        dataset = handle["images"]
        for rows in batches:
            [dataset[int(row)] for row in rows]
    per_row = 256 * len(batches) / (time.perf_counter() - start)
    return {
        "write": write,
        "sequential": sequential,
        "fancy": fancy,
        "per_row": per_row,
        "bytes": path.stat().st_size / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument(
        "--noise", type=float, default=12.0, help="std of the added per-pixel texture (0: plain photos)"
    )
    args = parser.parse_args()
    filters = {**FILTERS, **blosc_filters()}
    print(
        f"{'size':>5} {'filter':<11}{'write img/s':>12}{'seq img/s':>11}{'rand fancy':>11}{'rand per-row':>13}"
        f"{'bytes/img':>11}{'ratio':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in ((64, args.images), (224, max(256, args.images // 4))):
            images = make_images(count, size, args.noise)
            raw = images[0].nbytes
            for name, options in filters.items():
                result = measure(Path(tmp) / f"{name}-{size}.h5", images, options)
                print(
                    f"{size:>5} {name:<11}{result['write']:>12.0f}{result['sequential']:>11.0f}{result['fancy']:>11.0f}"
                    f"{result['per_row']:>13.0f}{result['bytes']:>11.0f}{raw / result['bytes']:>7.2f}"
                )


if __name__ == "__main__":
    main()

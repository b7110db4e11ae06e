"""Read speed: ShardDataset vs torchvision ImageFolder over the same images stored as PNG files.

Both through ``DataLoader(num_workers=2, shuffle=True, batch_size=256)``, both yielding uint8
``(3, H, W)`` tensors, one epoch each after a warm-up epoch (files in the page cache for both),
side by side in one run, for the ``64`` and ``sin`` (224) presets. Target: >= 10x for ``64``.
The last column is the DataLoader's own ceiling (a dataset that costs nothing) for the same
batches: what inter-process transfer alone allows on this machine.

Then many shards (``64``): ShardDataset over a few large shards, over 25 shards of 160 images,
and over two such sources mixed (``{sin: 1, in: 1}``), each as a share of the ceiling, measured
alternately (best of ``--repeat``). Target: >= 0.85 of the ceiling in each case.

    python bench/read.py [--images 20000] [--many-only]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from adain.data import ShardDataset
from adain.shards.format import ShardData, write_shard


def make_images(root: Path, size: int, count: int, shard_size: int = 5000, classes: int = 10, png: bool = True) -> None:
    """The same smooth random images as shards (``root/shards``) and as PNG files (``root/png``)."""
    rng = np.random.default_rng(size)
    for start in range(0, count, shard_size):
        n = min(shard_size, count - start)
        small = rng.integers(0, 256, (n, size // 8, size // 8, 3), dtype=np.uint8)
        images = np.stack([np.asarray(Image.fromarray(s).resize((size, size), Image.BICUBIC)) for s in small])
        labels = (np.arange(start, start + n) % classes).astype(np.int64)
        names = [f"train/c{label}/img{start + i}.JPEG" for i, label in enumerate(labels)]
        write_shard(
            root / "shards" / f"train-{start // shard_size:05d}.h5",
            ShardData(
                images=images,
                labels=labels,
                content=names,
                style=["p.jpg"] * n,
                wnid=[f"c{label}" for label in labels],
                labels_clsloc=np.full(n, -1),
            ),
        )
        for image, name in zip(images if png else [], names):
            path = root / "png" / Path(name).parent.name / (Path(name).stem + ".png")
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)


class ZeroCost(torch.utils.data.Dataset):
    """A dataset that costs nothing: the DataLoader's own ceiling for batches of this shape."""

    def __init__(self, size: int, count: int) -> None:
        self.size, self.count = size, count

    def __len__(self) -> int:
        return self.count

    def __getitems__(self, indices):
        batch = torch.zeros(len(indices), 3, self.size, self.size, dtype=torch.uint8)
        return [(batch[i], 0) for i in range(len(indices))]

    def __getitem__(self, index):
        return self.__getitems__([index])[0]


def epoch_rate(dataset, epochs: int = 1) -> float:
    """Images/s over ``epochs`` epochs after a warm-up epoch (worker start, page cache)."""
    loader = DataLoader(dataset, batch_size=256, shuffle=True, num_workers=2, persistent_workers=True)
    for _ in loader:
        pass
    count, start = 0, time.perf_counter()
    for _ in range(epochs):
        for images, _ in loader:
            count += len(images)
    return count / (time.perf_counter() - start)


def many_shards(root: Path, repeat: int) -> None:
    """ShardDataset's share of the ceiling: few large shards, 25 small ones, two sources mixed."""
    count = 25 * 160
    make_images(root / "large", 64, count, shard_size=2000, png=False)
    make_images(root / "sin", 64, count, shard_size=160, png=False)
    make_images(root / "in", 64, count, shard_size=160, png=False)
    cases = {
        "2 shards of 2,000": lambda: ShardDataset(root / "large" / "shards"),
        "25 shards of 160": lambda: ShardDataset(root / "sin" / "shards"),
        "2 sources x 25 shards of 160": lambda: ShardDataset(
            {root / "sin" / "shards": 1, root / "in" / "shards": 1}, allow_mixed=True
        ),
    }
    best: dict[str, float] = {}
    ceilings: dict[str, float] = {}
    for _ in range(repeat):  # alternated with the ceiling: this VM is noisy
        for name, make in cases.items():
            dataset = make()
            best[name] = max(best.get(name, 0.0), epoch_rate(dataset, epochs=10))
            ceilings[name] = max(ceilings.get(name, 0.0), epoch_rate(ZeroCost(64, len(dataset)), epochs=10))
    print(f"\n{'64x64, shuffled, batch 256, 2 workers':<34}{'ShardDataset img/s':>20}{'ceiling img/s':>15}{'share':>7}")
    for name in cases:
        print(f"{name:<34}{best[name]:>20.0f}{ceilings[name]:>15.0f}{best[name] / ceilings[name]:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000, help="images of the 64 preset (sin: a quarter)")
    parser.add_argument(
        "--sharing",
        default=None,
        choices=["file_descriptor", "file_system"],
        help="torch.multiprocessing sharing strategy (default: torch's)",
    )
    parser.add_argument("--many-only", action="store_true", help="only the many-shards table")
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs of the many-shards table (best kept)")
    args = parser.parse_args()
    if args.sharing:
        torch.multiprocessing.set_sharing_strategy(args.sharing)
    print(
        f"torch {torch.__version__}, DataLoader(num_workers=2, shuffle=True, batch_size=256), "
        f"sharing {torch.multiprocessing.get_sharing_strategy()}"
    )
    print(
        f"{'preset':<7}{'images':>8}{'ShardDataset img/s':>20}{'ImageFolder(PNG) img/s':>24}{'ratio':>8}"
        f"{'DataLoader ceiling img/s':>26}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.many_only:
            many_shards(Path(tmp), args.repeat)
            return
        for preset, size, count in (("64", 64, args.images), ("sin", 224, args.images // 4)):
            root = Path(tmp) / preset
            make_images(root, size, count)
            shards = epoch_rate(ShardDataset(root / "shards"))
            folder = epoch_rate(ImageFolder(str(root / "png"), transform=v2.PILToTensor()))
            ceiling = epoch_rate(ZeroCost(size, count))
            print(f"{preset:<7}{count:>8}{shards:>20.0f}{folder:>24.0f}{shards / folder:>8.1f}x{ceiling:>26.0f}")
        many_shards(Path(tmp), args.repeat)


if __name__ == "__main__":
    main()

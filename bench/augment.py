"""On-the-fly stylization speed: ``adain.engine.augment.StyleAugment`` on 224x224 batches.

Random release-format weights (speed does not depend on the values), a bank of 64 random painting
statistics, batch 16; images/s of the augmentation alone at p=1 and p=0.5 (only the stylized
samples cost), on the device given.

    python bench/augment.py [--device cpu] [--batch-size 16] [--batches 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from adain.core.weights import write_random_weights  # noqa: E402
from adain.engine.augment import StyleAugment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vgg, decoder = write_random_weights(Path(tmp))
        bank = torch.stack([torch.rand(64, 512), torch.rand(64, 512) + 0.5], dim=1)
        images = torch.rand(args.batch_size, 3, args.size, args.size, device=args.device)
        print(f"{machine()}; device {args.device}, batch {args.batch_size}, {args.size}x{args.size}")
        for p in (1.0, 0.5):
            augment = StyleAugment(vgg, decoder, bank, p=p, generator=torch.Generator().manual_seed(0)).to(args.device)
            augment(images)  # warm-up
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.batches):
                augment(images)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            print(f"p={p}: {args.batches * args.batch_size / seconds:.2f} images/s")


if __name__ == "__main__":
    main()

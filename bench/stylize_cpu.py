"""CPU benchmark: ``adain stylize`` vs the per-image stylize-datasets loop on identical work.

Work: 32 contents of 64x64, 2 paintings each used 16 times, ``--style-size 512``. The loop
re-encodes the painting for every image at batch 1 (as bethgelab/stylize-datasets does);
``adain stylize`` encodes each painting once and batches the contents. Both run in this process,
side by side, with the same random release-format weights (speed does not depend on the values).

    python bench/stylize_cpu.py [--repeat 1]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

from adain.folder import stylize_folder
from adain.functional import adaptive_instance_normalization
from adain.model import load_adain
from adain.weights import write_random_weights


def make_work(root: Path) -> tuple[Path, Path]:
    """32 content images of 64x64 and 2 paintings (~600x800) of smooth random texture."""
    rng = np.random.default_rng(0)
    contents, styles = root / "content" / "n00000001", root / "styles"
    contents.mkdir(parents=True)
    styles.mkdir()
    for i in range(32):
        pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((64, 64), Image.BICUBIC).save(contents / f"img_{i:02d}.png")
    for i, size in enumerate([(600, 800), (800, 640)]):
        pixels = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize(size, Image.BICUBIC).save(styles / f"painting_{i}.jpg", quality=90)
    return root / "content", styles


def per_image_loop(model, content_dir: Path, style_dir: Path, out: Path) -> int:
    """stylize-datasets' loop: each content with a painting, re-encoded every time, batch 1.
    The paintings alternate so each is used 16 times, as in the adain run."""
    styles = sorted(style_dir.iterdir())
    to_content, to_style = T.ToTensor(), T.Compose([T.Resize(512), T.ToTensor()])
    count = 0
    for i, path in enumerate(sorted(content_dir.rglob("*.png"))):
        content = to_content(Image.open(path).convert("RGB")).unsqueeze(0)
        style = to_style(Image.open(styles[i % 2]).convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            feat = adaptive_instance_normalization(model.encode(content), model.encode(style))
            image = model.decode(feat)
        pixels = image[0].mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(out / f"{path.stem}-stylized-{styles[i % 2].stem}.png")
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two runs this many times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        content_dir, style_dir = make_work(root)
        vgg, decoder = write_random_weights(root / "weights")
        model = load_adain(vgg, decoder)
        loop_times, ours_times = [], []
        for r in range(args.repeat):
            out = root / f"loop{r}"
            out.mkdir()
            start = time.perf_counter()
            n_loop = per_image_loop(model, content_dir, style_dir, out)
            loop_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            summary = stylize_folder(content_dir, style_dir, root / f"ours{r}", vgg, decoder, style_size=512,
                                     device="cpu", batch_size=16, workers=1, cache_dir=None, progress=False)
            ours_times.append(time.perf_counter() - start)
            assert summary.written == n_loop == 32
        loop, ours = min(loop_times), min(ours_times)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
        print(f"{'method':<34}{'seconds':>9}{'images/s':>10}")
        print(f"{'per-image loop (stylize-datasets)':<34}{loop:>9.2f}{32 / loop:>10.2f}")
        print(f"{'adain stylize (batched, cached)':<34}{ours:>9.2f}{32 / ours:>10.2f}")
        print(f"ratio: {loop / ours:.1f}x (target >= 6x)")


if __name__ == "__main__":
    main()

"""CPU benchmark: ``adain stylize`` vs the per-image stylize-datasets loop, each timed as a whole
process (start-up, imports and model loading included), as a user runs them.

Work: 32 contents of 64x64, 2 paintings each used 16 times, ``--style-size 512``. The loop
(``python bench/stylize_cpu.py --loop ...``, below) re-encodes the painting for every image at
batch 1, as bethgelab/stylize-datasets does; ``adain stylize`` encodes each painting once and
batches the contents. Both use the same random release-format weights (speed does not depend on
the values) and the same torch thread count; the runs alternate ``--repeat`` times, best kept.

    python bench/stylize_cpu.py [--repeat 1]

Target (issue 7/15): >= 6x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_work(root: Path) -> tuple[Path, Path]:
    """32 content images of 64x64 and 2 paintings (~600x800) of smooth random texture."""
    import numpy as np
    from PIL import Image

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


def per_image_loop(vgg: Path, decoder: Path, content_dir: Path, style_dir: Path, out: Path) -> int:
    """stylize-datasets' loop: each content with a painting, re-encoded every time, batch 1.
    The paintings alternate so each is used 16 times, as in the adain run."""
    import torch
    import torchvision.transforms as T
    from PIL import Image

    from adain.core.functional import adaptive_instance_normalization
    from adain.core.model import load_adain

    model = load_adain(vgg, decoder)
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


def _process_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two runs this many times")
    parser.add_argument(
        "--loop", nargs=5, metavar=("VGG", "DECODER", "CONTENT", "STYLES", "OUT"), help=argparse.SUPPRESS
    )  # the loop's own process
    args = parser.parse_args()
    if args.loop:
        vgg, decoder, content, styles, out = map(Path, args.loop)
        print(per_image_loop(vgg, decoder, content, styles, out))
        return
    from adain.core.weights import write_random_weights

    threads = os.environ.get("OMP_NUM_THREADS", f"default ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        content_dir, style_dir = make_work(root)
        vgg, decoder = write_random_weights(root / "weights")
        loop_times, ours_times = [], []
        for r in range(args.repeat):
            out = root / f"loop{r}"
            out.mkdir()
            loop_times.append(
                _process_seconds(
                    [
                        sys.executable,
                        __file__,
                        "--loop",
                        str(vgg),
                        str(decoder),
                        str(content_dir),
                        str(style_dir),
                        str(out),
                    ]
                )
            )
            ours = root / f"ours{r}"
            ours_times.append(
                _process_seconds(
                    [
                        sys.executable,
                        "-m",
                        "adain",
                        "stylize",
                        "--content-dir",
                        str(content_dir),
                        "--style-dir",
                        str(style_dir),
                        "--output-dir",
                        str(ours),
                        "--vgg",
                        str(vgg),
                        "--decoder",
                        str(decoder),
                        "--style-size",
                        "512",
                        "--device",
                        "cpu",
                        "--batch-size",
                        "16",
                        "--workers",
                        "1",
                        "--no-progress",
                        "--cache-dir",
                        "none",
                    ]
                )
            )
            assert len(list(out.glob("*.png"))) == len(list(ours.rglob("*.png"))) == 32
        loop, ours_best = min(loop_times), min(ours_times)
        print(f"whole processes, {threads} torch threads, CPU")
        print(f"{'method':<34}{'seconds':>9}{'images/s':>10}")
        print(f"{'per-image loop (stylize-datasets)':<34}{loop:>9.2f}{32 / loop:>10.2f}")
        print(f"{'adain stylize (batched, cached)':<34}{ours_best:>9.2f}{32 / ours_best:>10.2f}")
        print(f"ratio: {loop / ours_best:.1f}x (target >= 6x)")


if __name__ == "__main__":
    main()

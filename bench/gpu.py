"""One command for a GPU: images/s, TFLOP/s and the share of the device's peak, end to end.

For ``sin``, ``64`` and ``full``: ImageNet-like JPEGs (bench/common.py) through the real
``stylize_shard`` (decode workers, batching, the overlapped device queue, checkpoints, the staging
shard), with random release-format weights (speed does not depend on the values). Then the
per-image loop of stylize-datasets on the same device and images (``sin`` recipe: PIL, batch 1,
the painting re-encoded for every image). FLOPs are exact counts (adain/flops.py); the peak is
the device's dense float32 (or, with ``--dtype bfloat16/float16``, half-precision tensor) rate
from a table of common GPUs, ``--peak-tflops``, or on a CPU a measured large matrix product.

    python bench/gpu.py                         # on the GPU this process sees
    python bench/gpu.py --device cpu --quick    # a small run anywhere (part of the tests)

Nothing here is a GPU figure unless it was run on a GPU; the printout names the device.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import job_inputs, machine  # noqa: E402

from adain.core.flops import encode_gflop, stylize_gflop, tflops  # noqa: E402
from adain.engine.device import resolve_device  # noqa: E402
from adain.stages.settings import StylizeSettings  # noqa: E402
from adain.stages.stylize_shard import stylize_shard  # noqa: E402

#: Dense peak TFLOP/s: (float32 without TF32, bfloat16/float16 tensor cores), from the vendors'
#: data sheets; matched against ``torch.cuda.get_device_name()``.
PEAKS = {
    "H200": (67.0, 989.0),
    "H100 SXM": (67.0, 989.0),
    "H100 NVL": (60.0, 835.0),
    "H100 PCIe": (51.0, 756.0),
    "H100": (67.0, 989.0),
    "A100": (19.5, 312.0),
    "L40S": (91.6, 362.0),
    "L4": (30.3, 121.0),
    "A10": (31.2, 125.0),
    "V100": (15.7, 125.0),
    "T4": (8.1, 65.0),
    "RTX 4090": (82.6, 165.0),
    "RTX 3090": (35.6, 71.0),
}


def peak_tflops(device: torch.device, dtype: str, given: float | None) -> tuple[float | None, str]:
    """The device's peak for ``dtype`` and where the figure comes from."""
    if given:
        return given, "--peak-tflops"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, (fp32, half) in PEAKS.items():
            if key in name:
                return (fp32 if dtype == "float32" else half), f"data sheet ({key})"
        return None, f"unknown GPU {name!r}: give --peak-tflops"
    a = torch.rand(2048, 2048)
    a @ a
    start, repeat = time.perf_counter(), 5
    for _ in range(repeat):
        a @ a
    return 2 * 2048**3 * repeat / (time.perf_counter() - start) / 1e12, "measured float32 matrix product"


def end_to_end(root: Path, preset: str, count: int, args, device: str) -> dict:
    inputs = job_inputs(root / preset, count, preset)
    settings = StylizeSettings.defaults(
        preset=preset,
        device=device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        workers=args.workers,
        cpu_threads=torch.get_num_threads(),
        compile=args.compile,
        checkpoint_images=max(1000, args.batch_size),
    )
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    result = stylize_shard(
        inputs.manifest,
        inputs.stats_h5,
        inputs.content_dir,
        inputs.vgg,
        inputs.decoder,
        root / preset / f"staging-{args.dtype}-{args.batch_size}.h5",
        settings,
    )
    return {
        "images": result["images"],
        "seconds": round(result["seconds"], 3),
        "images_per_s": round(result["images_per_second"], 2),
        "tflops": round(result["tflops"], 4),
    }


def per_image_loop(root: Path, count: int, device: torch.device) -> dict:
    """stylize-datasets' loop on the ``sin`` recipe: PIL, batch 1, the painting re-encoded each time."""
    import torchvision.transforms as T
    from PIL import Image

    from adain.core.functional import adaptive_instance_normalization
    from adain.core.model import load_adain
    from adain.engine.images import square_thumbnail

    inputs = job_inputs(root / "loop", count, "sin")
    model = load_adain(inputs.vgg, inputs.decoder).to(device).eval()
    contents = sorted(inputs.content_dir.rglob("*.JPEG"))
    paintings = sorted(inputs.paintings.iterdir())
    content_tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])
    out = root / "loop" / "out"
    out.mkdir(parents=True)
    gflop = 0.0
    start = time.perf_counter()
    for i, path in enumerate(contents):
        painting = square_thumbnail(Image.open(paintings[i % len(paintings)]).convert("RGB"), 224)
        content = content_tf(Image.open(path).convert("RGB")).unsqueeze(0).to(device)
        style = T.functional.to_tensor(painting).unsqueeze(0).to(device)
        with torch.no_grad():
            image = model.decode(adaptive_instance_normalization(model.encode(content), model.encode(style)))
        pixels = image[0].mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).cpu().numpy()
        Image.fromarray(pixels).save(out / f"{i}.png")
        gflop += stylize_gflop(224, 224) + encode_gflop(painting.height, painting.width)
    seconds = time.perf_counter() - start
    return {
        "images": len(contents),
        "seconds": round(seconds, 3),
        "images_per_s": round(len(contents) / seconds, 2),
        "tflops": round(tflops(gflop, seconds), 4),
    }


def drift(root: Path, count: int, device: torch.device) -> dict:
    """Half precision against float32 on the same ``sin`` images and paintings, after quantization:
    mean and max |difference| in levels (of 255) and the share of values off by more than 1."""
    import numpy as np

    from adain.core.model import load_adain
    from adain.engine.image_dataset import ImageDataset
    from adain.engine.presets import get_preset
    from adain.engine.stylizer import Stylizer
    from adain.stages.assign_styles import read_manifest
    from adain.stages.paintings import PaintingStats

    inputs = job_inputs(root / "drift", count, "sin")
    rows = read_manifest(inputs.manifest)
    dataset = ImageDataset([inputs.content_dir / r.content for r in rows], get_preset("sin").content, decode="fast")
    contents = torch.stack([dataset[i][1] for i in range(len(rows))])
    table = PaintingStats(inputs.stats_h5).load({r.style for r in rows})
    stats = torch.from_numpy(np.stack([table[r.style] for r in rows]))
    model = load_adain(inputs.vgg, inputs.decoder)
    reference = Stylizer(model, device=str(device)).stylize(contents, stats).int()
    found = {}
    for dtype in ("bfloat16", "float16"):
        diff = (Stylizer(model, device=str(device), dtype=dtype).stylize(contents, stats).int() - reference).abs()
        found[dtype] = {
            "mean_levels": round(diff.float().mean().item(), 3),
            "max_levels": int(diff.max()),
            "share_off_by_more_than_1": round((diff > 1).float().mean().item(), 4),
        }
    return found


def numerics_cost(root: Path, count: int, device: torch.device, batch_size: int, repeat: int = 3) -> dict:
    """What deterministic cuDNN costs: ``count`` sin contents (224x224) through the model in
    float32, in batches of ``batch_size``, with the project's numerics (IEEE float32, ``benchmark``
    off, ``deterministic`` on) and with cuDNN left free to time its algorithms (``benchmark`` on,
    ``deterministic`` off; IEEE float32 both times); best of ``repeat`` after a warm-up each."""
    import contextlib

    import adain.engine.stylizer as stylizer_module
    from adain.core.model import load_adain
    from adain.engine.device import exact_numerics
    from adain.engine.stylizer import Stylizer

    inputs = job_inputs(root / "numerics", min(count, batch_size), "sin")
    model = load_adain(inputs.vgg, inputs.decoder)
    content = torch.randint(0, 256, (batch_size, 3, 224, 224), dtype=torch.uint8)
    stats = torch.rand(batch_size, 2, 512) + 0.1

    @contextlib.contextmanager
    def free_choice(where):
        with exact_numerics(where):
            torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, False
            yield

    def rate() -> float:
        stylizer = Stylizer(model, device=str(device), batch_size=batch_size)
        stylizer.compute_batch(content, stats)  # warm-up (and, with benchmark on, the timing)
        best = float("inf")
        for _ in range(repeat):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(max(1, count // batch_size)):
                stylizer.compute_batch(content, stats)
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        return max(1, count // batch_size) * batch_size / best

    deterministic = rate()
    original = stylizer_module.exact_numerics
    stylizer_module.exact_numerics = free_choice
    try:
        free = rate()
    finally:
        stylizer_module.exact_numerics = original
    return {
        "deterministic_images_per_s": round(deterministic, 1),
        "benchmark_images_per_s": round(free, 1),
        "cost": round(1 - deterministic / free, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=8, help="decode processes (profiles/slurm gives a GPU job 8)")
    parser.add_argument("--images", type=int, default=0, help="images per preset (default: 4096, --quick 16)")
    parser.add_argument("--loop-images", type=int, default=0, help="images of the per-image loop (default: images / 4)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak, if not in the table")
    parser.add_argument("--quick", action="store_true", help="a small run (CPU: under 2 minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--no-drift", action="store_true", help="skip the bfloat16/float16 drift against float32")
    parser.add_argument("--presets", default="sin,64,full", help="comma-separated recipes to run end to end")
    parser.add_argument("--no-loop", action="store_true", help="skip the per-image loop of stylize-datasets")
    parser.add_argument(
        "--numerics-cost", action="store_true", help="also time deterministic cuDNN against benchmark mode"
    )
    args = parser.parse_args()
    if args.device == "cpu" and args.batch_size == 64:
        args.batch_size, args.workers = 8, min(args.workers, 1)
    count = args.images or (16 if args.quick else 4096)
    device = resolve_device(args.device)
    peak, source = peak_tflops(device, args.dtype, args.peak_tflops)
    presets = [preset for preset in args.presets.split(",") if preset]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = {
            preset: end_to_end(root, preset, count if preset != "full" else max(1, count // 2), args, str(device))
            for preset in presets
        }
        if not args.no_loop:
            rows["per-image loop"] = per_image_loop(root, args.loop_images or max(2, count // 4), device)
        drifts = None if args.no_drift else drift(root, min(count, 8 if device.type == "cpu" else 64), device)
        costs = numerics_cost(root, count, device, args.batch_size) if args.numerics_cost else None
    for row in rows.values():
        row["share_of_peak"] = round(row["tflops"] / peak, 4) if peak else None
    summary = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU: {machine()}",
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "peak_tflops": round(peak, 2) if peak else None,
        "peak_source": source,
        "results": rows,
        "half_precision_drift": drifts,
        "numerics_cost": costs,
        "speedup_sin_over_loop": (
            round(rows["sin"]["images_per_s"] / rows["per-image loop"]["images_per_s"], 2)
            if {"sin", "per-image loop"} <= set(rows)
            else None
        ),
        "command": "python bench/gpu.py " + " ".join(sys.argv[1:]),
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(
        f"{summary['device']}; dtype {args.dtype}, batch {args.batch_size}, {args.workers} decode workers; "
        f"peak {summary['peak_tflops']} TFLOP/s ({source})"
    )
    print(f"{'':<16}{'images':>8}{'images/s':>11}{'TFLOP/s':>10}{'of peak':>9}")
    for name, row in rows.items():
        share = f"{row['share_of_peak']:.1%}" if row["share_of_peak"] is not None else "?"
        print(f"{name:<16}{row['images']:>8}{row['images_per_s']:>11.2f}{row['tflops']:>10.3f}{share:>9}")
    if summary["speedup_sin_over_loop"]:
        print(f"sin end to end / per-image loop: {summary['speedup_sin_over_loop']:.1f}x")
    if costs:
        print(
            f"deterministic cuDNN: {costs['deterministic_images_per_s']} images/s, benchmark mode "
            f"{costs['benchmark_images_per_s']}: costs {costs['cost']:.1%}"
        )
    for dtype, found in (drifts or {}).items():
        print(
            f"{dtype} vs float32 (sin, quantized): mean {found['mean_levels']:.3f} levels, max {found['max_levels']}, "
            f"{found['share_off_by_more_than_1']:.2%} of values off by more than 1 level"
        )


if __name__ == "__main__":
    main()

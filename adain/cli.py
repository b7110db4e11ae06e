"""The ``adain`` command line."""
from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .images import DEFAULT_MAX_PIXELS

__all__ = ["main", "build_parser"]


def _add_stylize(commands) -> None:
    parser = commands.add_parser(
        "stylize",
        help="stylize a folder tree with random paintings (drop-in for stylize-datasets' stylize.py)",
        description=(
            "Apply AdaIN style transfer to every image under --content-dir, each with --num-styles "
            "paintings drawn at random (seeded) from --style-dir. Flags, defaults, output tree and "
            "names follow bethgelab/stylize-datasets: "
            "<output-dir>/<sub-folders>/<content stem>-stylized-<painting stem><content suffix>; "
            "unusable images are listed with their reason in <output-dir>/skipped_imgs.txt."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--content-dir", required=True, help="folder of content images (searched recursively)")
    parser.add_argument("--style-dir", required=True, help="folder of style images / paintings (searched recursively)")
    parser.add_argument("--output-dir", default="output", help="folder for the stylized images")
    parser.add_argument("--num-styles", type=int, default=1, help="distinct paintings per content image (one output each)")
    parser.add_argument("--alpha", type=float, default=1.0, help="degree of stylization, between 0 and 1")
    parser.add_argument(
        "--extensions", nargs="+", default=["png", "jpeg", "jpg"],
        help="image file extensions to look for in both folders (case-insensitive: jpeg matches .JPEG)",
    )
    parser.add_argument("--content-size", type=int, default=0, help="resize the content's shorter side to this; 0 keeps the size")
    parser.add_argument("--style-size", type=int, default=512, help="resize the painting's shorter side to this; 0 keeps the size")
    parser.add_argument("--crop", type=int, default=0, help="center crop of this size after resizing the content; 0: none")
    parser.add_argument("--vgg", default="models/vgg_normalised.pth", help="pytorch-AdaIN vgg_normalised.pth")
    parser.add_argument("--decoder", default="models/decoder.pth", help="pytorch-AdaIN decoder.pth")
    parser.add_argument("--seed", type=int, default=0, help="seed of the painting draws: the same seed repeats a run")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                        help="compute precision; half precisions on CUDA only (see docs/benchmarks.md for drift)")
    parser.add_argument("--batch-size", type=int, default=16, help="same-size images per forward pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes (0: decode in the main process)")
    parser.add_argument("--cache-dir", default=None,
                        help="painting-statistics cache (default: $ADAIN_CACHE_DIR or ~/.cache/adain); 'none' disables it")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="reject images with more pixels than this")
    parser.add_argument("--jpeg-quality", type=int, default=75, help="quality of JPEG outputs (PIL's default, as stylize-datasets)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_stylize)


def _run_stylize(args: argparse.Namespace) -> int:
    from .cache import default_cache_dir
    from .folder import stylize_folder

    cache_dir = None if args.cache_dir == "none" else (args.cache_dir or default_cache_dir())
    summary = stylize_folder(
        content_dir=args.content_dir, style_dir=args.style_dir, output_dir=args.output_dir,
        vgg=args.vgg, decoder=args.decoder, num_styles=args.num_styles, alpha=args.alpha,
        extensions=args.extensions, content_size=args.content_size, style_size=args.style_size,
        crop=args.crop, seed=args.seed, device=args.device, dtype=args.dtype,
        batch_size=args.batch_size, workers=args.workers, cache_dir=cache_dir,
        max_pixels=args.max_pixels, jpeg_quality=args.jpeg_quality, progress=not args.no_progress,
    )
    print(
        f"{summary.written} images written to {args.output_dir} "
        f"({summary.images_per_second:.1f} images/s), {len(summary.skipped)} skipped"
    )
    return 0


def _add_weights(commands) -> None:
    parser = commands.add_parser(
        "weights",
        help="download the pytorch-AdaIN release weights (checked by shape), or write random stand-ins",
        description=(
            "download: fetch vgg_normalised.pth and decoder.pth of the pytorch-AdaIN v0.0.0 release into DIR, "
            "refusing files whose tensors are not the expected networks. random: write random weights in the "
            "exact release format (for trying the workflow offline; the images are NOT meaningful)."
        ),
    )
    parser.add_argument("action", choices=["download", "random"])
    parser.add_argument("dir", nargs="?", default="weights", help="target folder (default: weights)")
    parser.set_defaults(run=_run_weights)


def _run_weights(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .weights import RELEASE_FILES, RELEASE_URL, download_weights, write_random_weights

    if args.action == "random":
        for path in write_random_weights(args.dir):
            print(f"wrote random stand-in weights {path}")
        return 0
    for name, kind in RELEASE_FILES.items():
        target = Path(args.dir) / name
        if target.exists():
            print(f"{target} exists, kept")
            continue
        sha = download_weights(f"{RELEASE_URL}/{name}", target, kind)
        print(f"downloaded {target} (sha256 {sha})")
    return 0


def _add_inspect(commands) -> None:
    parser = commands.add_parser("inspect", help="counts, classes, rejects and provenance of shards")
    parser.add_argument("path", help="a shard file, a folder of shards, or a workflow output folder")
    parser.add_argument("--grid", default=None, help="also write a sample grid PNG (content beside stylized)")
    parser.add_argument("--content-dir", default=None, help="content root for the grid (default: from the shards' run)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--methods", default=None, metavar="PNG",
                        help="write the first image's content under every texture-suppression method, side by side "
                             "(needs the content: --content-dir)")
    parser.set_defaults(run=_run_inspect)


def _run_inspect(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from .data import find_shards
    from .inspect import format_report, inspect_shards

    report = inspect_shards(args.path)
    print(json.dumps(report, indent=1, default=str) if args.json else format_report(report))
    if args.grid:
        from .images import Preprocess
        from .summary import sample_grid

        from .presets import PRESETS, get_preset

        preset = report["provenance"].get("preset")
        recipe = get_preset(preset).content if preset in PRESETS else None
        n = sample_grid(find_shards(args.path)[:4], args.grid, args.content_dir, recipe or Preprocess())
        print(f"wrote {n} samples to {args.grid}")
    if args.methods:
        from .inspect import methods_grid
        from .shards import read_shard

        if args.content_dir is None:
            raise ValueError("--methods needs --content-dir (the content images)")
        first = read_shard(find_shards(args.path)[0]).content[0]
        titles = methods_grid(Path(args.content_dir) / first, args.methods)
        print(f"wrote {first} under {', '.join(titles)} to {args.methods}")
    return 0


def _add_export(commands) -> None:
    parser = commands.add_parser("export", help="shards back to an ImageFolder tree of image files")
    parser.add_argument("path", help="a workflow output folder, a folder of shards or one shard")
    parser.add_argument("dest", help="target folder: <dest>/<split>/<wnid>/<name>.<format>")
    parser.add_argument("--format", default="png", choices=["png", "jpeg"])
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality")
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from .inspect import export_shards

    count = export_shards(args.path, args.dest, args.format, args.quality)
    print(f"wrote {count} images to {args.dest}")
    return 0


def _add_classifier_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, metavar="ARCH",
                        help="torchvision.models architecture of the state_dict in --weights (resnet50, alexnet, "
                             "vgg16, ...); not needed for a TorchScript file")
    parser.add_argument("--weights", required=True,
                        help="classifier weights: a state_dict file (plain, or a checkpoint with 'state_dict'; "
                             "DataParallel keys accepted), a TorchScript file, torchvision:<NAME> (e.g. "
                             "torchvision:IMAGENET1K_V1) or an http(s) URL (both fetched once into $TORCH_HOME)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes")
    parser.add_argument("--aggregation", default="mean", choices=["mean", "sum"],
                        help="how a category's ImageNet probabilities are combined into its 16-class score")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_shapebias(commands) -> None:
    parser = commands.add_parser(
        "shapebias",
        help="shape bias of a classifier on cue-conflict images (Geirhos et al. 2019), with plot",
        description=(
            "Classify every image of a cue-conflict folder (<shape>/<shape><i>-<texture><j>.png), map the "
            "1000-way softmax to the 16 categories, drop images whose shape and texture agree, and report "
            "shape bias = shape / (shape + texture) decisions, shape and texture accuracy, per category and "
            "overall. Writes OUT/cue-conflict_<name>_session-1.csv (model-vs-human raw data), OUT/<name>.json "
            "and OUT/shape_bias.pdf (Figure-4 style, every model of this call and of --compare)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_classifier_args(parser)
    parser.add_argument("--stimuli", required=True, help="cue-conflict folder (texture-vs-shape layout)")
    parser.add_argument("--out", default="shape_bias", help="output folder")
    parser.add_argument("--name", default=None, help="model name in files and plots (default: --model or the weights' stem)")
    parser.add_argument("--topk", type=float, nargs="+", default=[], metavar="K",
                        help="also evaluate with Top-K activation sparsity (Li et al. 2023) keeping these fractions "
                             "of spatial positions per channel, e.g. --topk 0.05 0.1 0.2")
    parser.add_argument("--topk-at", default=None, metavar="PRESET|LAYERS",
                        help="where Top-K acts: alexnet | vgg16 (the published positions) or comma-separated "
                             "module names, e.g. features.4,features.9 (default: the preset named by --model)")
    parser.add_argument("--compare", nargs="+", default=[], metavar="JSON",
                        help="summaries of earlier runs to draw in the same plot")
    parser.add_argument("--plot", default="shape_bias.pdf", help="figure file name inside --out ('' for none)")
    parser.set_defaults(run=_run_shapebias)


def _load_summaries(paths: list[str]) -> list[dict]:
    import json
    from pathlib import Path

    summaries = []
    for path in paths:
        summary = json.loads(Path(path).read_text())
        if "result" not in summary or "model" not in summary:
            raise ValueError(f"{path} is not a shape-bias summary written by adain shapebias")
        summaries.append(summary)
    return summaries


def _print_shape_bias(summary: dict) -> None:
    result = summary["result"]
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    print(f"{summary['model']}: shape bias {fmt(result['shape_bias'])}, shape accuracy {fmt(result['shape_accuracy'])}, "
          f"texture accuracy {fmt(result['texture_accuracy'])} ({result['conflict_trials']} conflict trials, "
          f"{result['dropped_same_category']} same-category dropped, {len(summary['skipped'])} unreadable)")


def _run_shapebias(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .plots import plot_shape_bias
    from .shapebias import run_shape_bias
    from .topk import TOPK_PRESETS

    topk_at = args.topk_at
    if topk_at and topk_at not in TOPK_PRESETS:
        topk_at = [name.strip() for name in topk_at.split(",") if name.strip()]
    compared = _load_summaries(args.compare)
    summaries = run_shape_bias(
        name=args.name or args.model or Path(args.weights).stem, arch=args.model, weights=args.weights,
        stimuli_dir=args.stimuli, output_dir=args.out, aggregation=args.aggregation, topk=args.topk,
        topk_at=topk_at, device=args.device, batch_size=args.batch_size, workers=args.workers,
        progress=not args.no_progress,
    )
    for summary in summaries:
        _print_shape_bias(summary)
    if args.plot:
        figure = plot_shape_bias(compared + summaries, Path(args.out) / args.plot)
        print(f"wrote {figure}")
    return 0


def _add_shapebias_plot(commands) -> None:
    parser = commands.add_parser("shapebias-plot", help="one Figure-4-style plot of several shape-bias summaries")
    parser.add_argument("figure", help="output file (.pdf, .png or .svg)")
    parser.add_argument("summaries", nargs="+", help="JSON summaries written by adain shapebias")
    parser.set_defaults(run=_run_shapebias_plot)


def _run_shapebias_plot(args: argparse.Namespace) -> int:
    from .plots import plot_shape_bias

    print(f"wrote {plot_shape_bias(_load_summaries(args.summaries), args.figure)}")
    return 0


def _add_cueconflict(commands) -> None:
    parser = commands.add_parser(
        "cueconflict",
        help="make a cue-conflict set: every shape image in every texture, with AdaIN",
        description=(
            "Render every image of --shapes/<category>/ in the texture of every image of --textures/<category>/ "
            "(categories: the 16 of the cue-conflict experiments) and write OUT/<shape>/<shape><i>-<texture><j>.png, "
            "the texture-vs-shape layout that adain shapebias reads."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--shapes", required=True, help="folder of <category>/ folders of shape (content) images")
    parser.add_argument("--textures", required=True, help="folder of <category>/ folders of texture (style) images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--vgg", default="weights/vgg_normalised.pth", help="pytorch-AdaIN vgg_normalised.pth")
    parser.add_argument("--decoder", default="weights/decoder.pth", help="pytorch-AdaIN decoder.pth")
    parser.add_argument("--size", type=int, default=224, help="side of the square stimuli")
    parser.add_argument("--alpha", type=float, default=1.0, help="stylization strength in [0, 1]")
    parser.add_argument("--no-same-category", action="store_true",
                        help="leave out pairs whose shape and texture categories agree")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_cueconflict)


def _run_cueconflict(args: argparse.Namespace) -> int:
    from .cueconflict import make_cue_conflict

    summary = make_cue_conflict(
        args.shapes, args.textures, args.out, args.vgg, args.decoder, size=args.size, alpha=args.alpha,
        same_category=not args.no_same_category, device=args.device, batch_size=args.batch_size,
        workers=args.workers, progress=not args.no_progress,
    )
    print(f"wrote {summary.written} cue-conflict images to {args.out}, {len(summary.skipped)} inputs skipped")
    for path, reason in summary.skipped:
        print(f"  skipped {path}: {reason}")
    return 0


def _add_accuracy(commands) -> None:
    parser = commands.add_parser(
        "accuracy",
        help="top-1/top-5 and 16-class accuracy of a classifier on HDF5 shards",
        description=(
            "Classify every image of the shards (e.g. stylized validation shards) and score it against its "
            "stored WNID: top-1 and top-5 (1000 classes), top-1 per WNID, and 16-class accuracy on the images "
            "of the 16 cue-conflict categories. Writes the JSON summary and a per-image CSV beside it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_classifier_args(parser)
    parser.add_argument("--shards", required=True, help="a workflow output folder, a folder of shards or one shard")
    parser.add_argument("--split", default=None, help="only the shards of this split (e.g. val)")
    parser.add_argument("--size", type=int, default=224,
                        help="images not size x size get Resize(size) + CenterCrop(size); 0 feeds them as stored")
    parser.add_argument("--out", default="accuracy.json", help="JSON summary (per-image CSV beside it)")
    parser.set_defaults(run=_run_accuracy)


def _run_accuracy(args: argparse.Namespace) -> int:
    from .accuracy import run_accuracy

    summary = run_accuracy(
        args.model, args.weights, args.shards, args.out, split=args.split, device=args.device,
        batch_size=args.batch_size, workers=args.workers, size=args.size, aggregation=args.aggregation,
        progress=not args.no_progress,
    )
    result = summary["result"]
    fmt = lambda x: "n/a" if x is None else f"{x:.4f}"  # noqa: E731
    print(f"{result['images']} images: top-1 {fmt(result['top1'])}, top-5 {fmt(result['top5'])}, "
          f"16-class {fmt(result['sixteen_class']['accuracy'])} ({result['sixteen_class']['images']} images); "
          f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adain",
        description=(
            "Build Stylized-ImageNet and texture-suppressed datasets with batched AdaIN "
            "(Huang & Belongie 2017) using the pytorch-AdaIN release weights."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_stylize(commands)
    _add_weights(commands)
    _add_inspect(commands)
    _add_export(commands)
    _add_shapebias(commands)
    _add_shapebias_plot(commands)
    _add_cueconflict(commands)
    _add_accuracy(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from .model import WeightsError

    try:
        return args.run(args)
    except (WeightsError, OSError, ValueError, RuntimeError) as error:
        print(f"adain: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

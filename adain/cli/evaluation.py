"""The evaluation commands of ``adain``: ``shapebias``, ``shapebias-plot``, ``cueconflict``, ``accuracy``."""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def add_commands(commands) -> None:
    """Add the evaluation sub-commands to ``commands`` (an ``add_subparsers`` object)."""
    _add_shapebias(commands)
    _add_shapebias_plot(commands)
    _add_cueconflict(commands)
    _add_accuracy(commands)


def _add_classifier_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        metavar="ARCH",
        help="torchvision.models architecture of the state_dict in --weights (resnet50, alexnet, "
        "vgg16, ...); not needed for a TorchScript file",
    )
    parser.add_argument(
        "--weights",
        required=True,
        help="classifier weights: a state_dict file (plain, or a checkpoint with 'state_dict'; "
        "DataParallel keys accepted), a TorchScript file, torchvision:<NAME> (e.g. "
        "torchvision:IMAGENET1K_V1) or an http(s) URL (both fetched once into $TORCH_HOME)",
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes")
    parser.add_argument(
        "--aggregation",
        default="mean",
        choices=["mean", "sum"],
        help="how a category's ImageNet probabilities are combined into its 16-class score",
    )
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
    parser.add_argument(
        "--name", default=None, help="model name in files and plots (default: --model or the weights' stem)"
    )
    parser.add_argument(
        "--topk",
        type=float,
        nargs="+",
        default=[],
        metavar="K",
        help="also evaluate with Top-K activation sparsity (Li et al. 2023) keeping these fractions "
        "of spatial positions per channel, e.g. --topk 0.05 0.1 0.2",
    )
    parser.add_argument(
        "--topk-at",
        default=None,
        metavar="PRESET|LAYERS",
        help="where Top-K acts: alexnet | vgg16 (the published positions) or comma-separated "
        "module names, e.g. features.4,features.9 (default: the preset named by --model)",
    )
    parser.add_argument(
        "--compare", nargs="+", default=[], metavar="JSON", help="summaries of earlier runs to draw in the same plot"
    )
    parser.add_argument("--plot", default="shape_bias.pdf", help="figure file name inside --out ('' for none)")
    parser.set_defaults(run=_run_shapebias)


def _fmt(value: float | None, digits: int = 3) -> str:
    """A fraction for the terminal; ``None`` (nothing to divide) as ``n/a``."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_shape_bias(summary: dict) -> None:
    result = summary["result"]
    print(
        f"{summary['model']}: shape bias {_fmt(result['shape_bias'])}, shape accuracy {_fmt(result['shape_accuracy'])}, "
        f"texture accuracy {_fmt(result['texture_accuracy'])} ({result['conflict_trials']} conflict trials, "
        f"{result['dropped_same_category']} same-category dropped, {len(summary['skipped'])} unreadable)"
    )


def _run_shapebias(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..evaluation.plots import plot_shape_bias
    from ..evaluation.shapebias import load_summaries, run_shape_bias
    from ..evaluation.topk import TOPK_PRESETS

    topk_at = args.topk_at
    if topk_at and topk_at not in TOPK_PRESETS:
        topk_at = [name.strip() for name in topk_at.split(",") if name.strip()]
    compared = load_summaries(args.compare)
    summaries = run_shape_bias(
        name=args.name or args.model or Path(args.weights).stem,
        arch=args.model,
        weights=args.weights,
        stimuli_dir=args.stimuli,
        output_dir=args.out,
        aggregation=args.aggregation,
        topk=args.topk,
        topk_at=topk_at,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
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
    from ..evaluation.plots import plot_shape_bias
    from ..evaluation.shapebias import load_summaries

    print(f"wrote {plot_shape_bias(load_summaries(args.summaries), args.figure)}")
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
    parser.add_argument(
        "--no-same-category", action="store_true", help="leave out pairs whose shape and texture categories agree"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_cueconflict)


def _run_cueconflict(args: argparse.Namespace) -> int:
    from ..evaluation.cueconflict import make_cue_conflict

    summary = make_cue_conflict(
        args.shapes,
        args.textures,
        args.out,
        args.vgg,
        args.decoder,
        size=args.size,
        alpha=args.alpha,
        same_category=not args.no_same_category,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        progress=not args.no_progress,
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
    parser.add_argument(
        "--size",
        type=int,
        default=224,
        help="images not size x size get Resize(size) + CenterCrop(size); 0 feeds them as stored",
    )
    parser.add_argument("--out", default="accuracy.json", help="JSON summary (per-image CSV beside it)")
    parser.set_defaults(run=_run_accuracy)


def _run_accuracy(args: argparse.Namespace) -> int:
    from ..evaluation.accuracy import run_accuracy

    summary = run_accuracy(
        args.model,
        args.weights,
        args.shards,
        args.out,
        split=args.split,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        size=args.size,
        aggregation=args.aggregation,
        progress=not args.no_progress,
    )
    result = summary["result"]
    print(
        f"{result['images']} images: top-1 {_fmt(result['top1'], 4)}, top-5 {_fmt(result['top5'], 4)}, "
        f"16-class {_fmt(result['sixteen_class']['accuracy'], 4)} ({result['sixteen_class']['images']} images); "
        f"wrote {args.out}"
    )
    return 0

"""The representation analyses of ``adain``: ``dimensions`` (Islam et al. 2021), ``decodability``
(Hermann et al. 2020) and ``refined-bias`` (Kim et al. 2026). Nothing heavy is imported until a
command runs."""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def add_commands(commands) -> None:
    """Add the analysis sub-commands to ``commands`` (an ``add_subparsers`` object)."""
    _add_dimensions(commands)
    _add_decodability(commands)
    _add_refined_bias(commands)


def _add_classifier_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        metavar="ARCH",
        help="torchvision.models architecture of the state_dict in --weights (resnet50, alexnet, vgg16, ...)",
    )
    parser.add_argument(
        "--weights",
        required=True,
        help="classifier weights: a state_dict file (plain, or a checkpoint with 'state_dict'; DataParallel keys "
        "accepted), torchvision:<NAME> (e.g. torchvision:IMAGENET1K_V1) or an http(s) URL (fetched once into "
        "$TORCH_HOME); refined-bias also takes a TorchScript file",
    )
    parser.add_argument(
        "--name", default=None, help="model name in files and plots (default: --model or the weights' stem)"
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding worker processes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _names(values: list[str] | None) -> list[str] | None:
    """``["f1,f2", "f5"]`` -> ``["f1", "f2", "f5"]``; nothing -> ``None`` (the default layers)."""
    names = [name.strip() for value in values or [] for name in value.split(",") if name.strip()]
    return names or None


def _model_name(args: argparse.Namespace) -> str:
    from pathlib import Path

    return args.name or args.model or Path(args.weights).stem


def _add_layer_args(parser: argparse.ArgumentParser, flag: str) -> None:
    parser.add_argument(
        flag,
        nargs="+",
        default=None,
        metavar="LAYER",
        help="layers whose globally average-pooled outputs are read: f1..f5 (torchvision ResNets: maxpool, "
        "layer1, layer2, layer3, layer4) or any module names, space- or comma-separated (default: f1..f5)",
    )
    parser.add_argument(
        "--size", type=int, default=224, help="images are resized to size x size (no crop) before the model"
    )


def _add_dimensions(commands) -> None:
    parser = commands.add_parser(
        "dimensions",
        help="units encoding shape and texture per stage, from stylized pairs (Islam et al. 2021)",
        description=(
            "Pair stylized images that share their shape (one content in two textures) or their texture (two "
            "classes in one texture), read each layer's globally average-pooled features of both members, and "
            "count the layer's shape, texture and residual units with the released estimator of Islam et al. "
            "(ICLR 2021). Images: a run's shards made with styles_per_image >= 2 (--run), or a Stylized-VOC "
            "folder (--svoc, <texture>_<class>_<vocid>.jpg). Several seeds draw several pair sets; the spread "
            "is reported. Writes OUT/<name>.json, OUT/<name>.csv and OUT/dimensions.pdf (every model of this "
            "call and of --compare side by side)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_classifier_args(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--run", dest="run_dir", default=None, help="a workflow output folder, a folder of shards or one shard"
    )
    source.add_argument("--svoc", default=None, help="a Stylized-VOC folder")
    parser.add_argument("--split", default=None, help="--run: only the shards of this split (e.g. val)")
    parser.add_argument(
        "--svoc-textures", nargs="+", default=None, metavar="ID", help="--svoc: only these texture ids (default: all)"
    )
    _add_layer_args(parser, "--stages")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one pair set per seed")
    parser.add_argument(
        "--draw",
        default="islam",
        choices=["islam", "two-way"],
        help="pair labels: islam = the released code's draw of 0..3 (0 shape, 1 texture scored; 2, 3 texture pairs "
        "in the variance only); two-way = shape or texture, both scored (Esser et al., Brain-Score)",
    )
    parser.add_argument(
        "--max-pairs", type=int, default=20000, help="first members per seed, drawn at random (0: every image)"
    )
    parser.add_argument("--out", default="dimensions", help="output folder")
    parser.add_argument(
        "--compare", nargs="+", default=[], metavar="JSON", help="summaries of earlier runs to draw in the same figure"
    )
    parser.add_argument("--plot", default="dimensions.pdf", help="figure file name inside --out ('' for none)")
    parser.set_defaults(run=_run_dimensions)


def _run_dimensions(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..evaluation.analysis_plots import plot_dimensions
    from ..evaluation.dimensions import load_dimension_summaries, run_dimensions

    compared = load_dimension_summaries(args.compare)
    name = _model_name(args)
    summary = run_dimensions(
        name,
        args.model,
        args.weights,
        Path(args.out) / f"{name}.json",
        shards=args.run_dir,
        split=args.split,
        svoc=args.svoc,
        svoc_textures=args.svoc_textures,
        stages=_names(args.stages),
        seeds=args.seeds,
        draw=args.draw,
        max_pairs=args.max_pairs,
        size=args.size,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        progress=not args.no_progress,
    )
    pairs = summary["pairs"][0]
    print(
        f"{name}: {summary['images_used']} images, {pairs['shape']} shape and {pairs['texture']} texture pairs "
        f"scored per seed (seed {pairs['seed']}; {pairs['variance_only']} in the variance only)"
    )
    for stage in summary["stages"]:
        shape, texture, residual = stage["dims_mean"]
        spread = stage["dims_std"]
        print(
            f"  {stage['stage']} ({stage['module']}, {stage['units']} units): shape {shape:.1f} ± {spread[0]:.1f}, "
            f"texture {texture:.1f} ± {spread[1]:.1f}, residual {residual:.1f}"
        )
    if args.plot:
        print(f"wrote {plot_dimensions(compared + [summary], Path(args.out) / args.plot)}")
    return 0


def _add_decodability(commands) -> None:
    parser = commands.add_parser(
        "decodability",
        help="linear decodability of shape and texture per layer on cue-conflict images (Hermann et al. 2020)",
        description=(
            "Train linear classifiers (multinomial logistic regression) on a frozen classifier's globally "
            "average-pooled features of cue-conflict images (<shape>/<shape><i>-<texture><j>.png) to predict the "
            "shape category and, separately, the texture category; report the cross-validated held-out accuracy "
            "per layer. Writes OUT/<name>.json, OUT/<name>.csv and OUT/decodability.pdf."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_classifier_args(parser)
    parser.add_argument("--stimuli", required=True, help="cue-conflict folder (texture-vs-shape layout)")
    _add_layer_args(parser, "--layers")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument(
        "--group",
        default="exemplar",
        choices=["exemplar", "image"],
        help="exemplar: all images of one shape (texture) exemplar in one fold when predicting shape (texture); "
        "image: plain stratified folds",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the probes (standardised features)")
    parser.add_argument(
        "--same-category", action="store_true", help="keep stimuli whose shape and texture agree (dropped by default)"
    )
    parser.add_argument("--out", default="decodability", help="output folder")
    parser.add_argument(
        "--compare", nargs="+", default=[], metavar="JSON", help="summaries of earlier runs to draw in the same figure"
    )
    parser.add_argument("--plot", default="decodability.pdf", help="figure file name inside --out ('' for none)")
    parser.set_defaults(run=_run_decodability)


def _run_decodability(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..evaluation.analysis_plots import plot_decodability
    from ..evaluation.decodability import load_decodability_summaries, run_decodability

    compared = load_decodability_summaries(args.compare)
    name = _model_name(args)
    summary = run_decodability(
        name,
        args.model,
        args.weights,
        args.stimuli,
        Path(args.out) / f"{name}.json",
        layers=_names(args.layers),
        folds=args.folds,
        seed=args.seed,
        l2=args.l2,
        group=args.group,
        same_category=args.same_category,
        size=args.size,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        progress=not args.no_progress,
    )
    print(f"{name}: {summary['images']} stimuli, {summary['folds']} folds by {summary['group']}")
    for entry in summary["layers"]:
        shape, texture = entry["shape"], entry["texture"]
        print(
            f"  {entry['layer']} ({entry['module']}, {entry['units']} units): shape {shape['mean']:.3f} ± "
            f"{shape['std']:.3f}, texture {texture['mean']:.3f} ± {texture['std']:.3f} (chance {shape['chance']:.3f})"
        )
    if args.plot:
        print(f"wrote {plot_decodability(compared + [summary], Path(args.out) / args.plot)}")
    return 0


def _add_refined_bias(commands) -> None:
    parser = commands.add_parser(
        "refined-bias",
        help="REFINED-BIAS: reciprocal rank of shape-cue and texture-cue labels over 1000 classes (Kim et al. 2026)",
        description=(
            "Classify the REFINED-BIAS images (DATA/refined_bias_shape/<label>/*.png and "
            "DATA/refined_bias_texture/<label>/*.png; any subset of the folders) after Resize(256), "
            "CenterCrop(224) and ImageNet normalisation, and score each by the reciprocal rank of its label among "
            "all 1000 classes (a label with several ImageNet classes counts its best one). RB_S and RB_T are the "
            "mean reciprocal ranks of the shape and the texture images. Writes the JSON summary (rb_s, rb_t, "
            "rb_rel_shape, rb_rel_texture, per_class) and a per-image CSV beside it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_classifier_args(parser)
    parser.add_argument("--data", required=True, help="the REFINED-BIAS datasets folder (or one of its cue folders)")
    parser.add_argument("--out", default="refined_bias.json", help="JSON summary (per-image CSV beside it)")
    parser.set_defaults(run=_run_refined_bias)


def _run_refined_bias(args: argparse.Namespace) -> int:
    from ..evaluation.refinedbias import run_refined_bias

    summary = run_refined_bias(
        _model_name(args),
        args.model,
        args.weights,
        args.data,
        args.out,
        device=args.device,
        batch_size=args.batch_size,
        workers=args.workers,
        progress=not args.no_progress,
    )

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    print(
        f"{summary['model']}: RB_S {fmt(summary['rb_s'])} ({summary['images']['shape']} images), "
        f"RB_T {fmt(summary['rb_t'])} ({summary['images']['texture']} images), relative shape "
        f"{fmt(summary['rb_rel_shape'])}; wrote {args.out}"
    )
    return 0

"""``adain synthesize``: what Top-K neurons see (Li et al. 2023, Figures 2 and 3) for your photos."""

from __future__ import annotations

import argparse

from ..evaluation.settings import MASKS, TASKS  # plain names: `adain --help` stays free of torch

__all__ = ["add_commands"]


def add_commands(commands) -> None:
    """Add ``synthesize`` to ``commands`` (an ``add_subparsers`` object)."""
    parser = commands.add_parser(
        "synthesize",
        help="texture synthesis and feature reconstruction from all / Top-K / non-Top-K VGG responses",
        description=(
            "For each photo (files, or folders searched recursively), optimise an image whose normalised VGG-19 "
            "responses (relu1_1, pool1-pool4; Gatys' network with average pooling, built from the release "
            "vgg_normalised.pth) match the photo's through a Top-K mask: texture synthesis (Gram matrices, "
            "Gatys et al. 2015) and feature reconstruction, as Li et al. (NeurIPS 2023) show why Top-K sparsity "
            "raises shape bias. Writes OUT/<task>/<name>-<mask>.png, OUT/synthesis.json (settings, loss curves) "
            "and OUT/synthesis.pdf/.png (original | all | Top-K | non-Top-K). Defaults are the authors'. "
            "Costly on a CPU: see docs/synthesis.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("images", nargs="+", help="image files and/or folders of images")
    parser.add_argument("--task", nargs="+", choices=TASKS, default=list(TASKS), help="what to optimise")
    parser.add_argument("--mask", nargs="+", choices=MASKS, default=list(MASKS), help="which responses the loss counts")
    parser.add_argument("--k", type=float, default=0.05, help="Top-K fraction of spatial positions per channel")
    parser.add_argument("--out", default="synthesis", help="output folder")
    parser.add_argument(
        "--vgg",
        default=None,
        help="pytorch-AdaIN vgg_normalised.pth (default: weights/ here, else where the workflow's config.yaml says)",
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--size", type=int, default=256, help="photos are squashed to size x size")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="L-BFGS steps per picture; None: the task's own (100 texture, 1 reconstruct)",
    )
    parser.add_argument(
        "--lr", type=float, default=None, help="L-BFGS learning rate; None: the task's own (1 texture, 10 reconstruct)"
    )
    parser.add_argument("--max-iter", type=int, default=20, help="L-BFGS iterations per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting noise")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_synthesize)


def _run_synthesize(args: argparse.Namespace) -> int:
    from ..evaluation.settings import SynthesisSettings
    from ..evaluation.synthesis_run import run_synthesis
    from .find_weights import find_weights

    settings = SynthesisSettings(
        tasks=tuple(dict.fromkeys(args.task)),
        masks=tuple(dict.fromkeys(args.mask)),
        k=args.k,
        size=args.size,
        steps=args.steps,
        lr=args.lr,
        max_iter=args.max_iter,
        seed=args.seed,
        device=args.device,
    )
    summary = run_synthesis(
        args.images, find_weights("vgg", args.vgg), args.out, settings, progress=not args.no_progress
    )
    pictures = sum(len(masks) for record in summary["images"] for masks in record["results"].values())
    print(
        f"wrote {pictures} pictures of {len(summary['images'])} images, synthesis.json and synthesis.pdf/.png to {args.out}"
    )
    for item in summary["skipped"]:
        print(f"  skipped {item['path']}: {item['reason']}")
    return 0

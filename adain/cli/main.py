"""The ``adain`` command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from .. import __version__
from ..core.release import DEFAULT_WEIGHTS_DIR
from ..engine.images import DEFAULT_MAX_PIXELS
from .analyses import add_commands as add_analysis_commands
from .evaluation import add_commands as add_evaluation_commands
from .synthesis import add_commands as add_synthesis_commands

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
    parser.add_argument(
        "--num-styles", type=int, default=1, help="distinct paintings per content image (one output each)"
    )
    parser.add_argument("--alpha", type=float, default=1.0, help="degree of stylization, between 0 and 1")
    parser.add_argument(
        "--preserve-color",
        action="store_true",
        help="keep the content's colours (pytorch-AdaIN's option: each painting gets them first)",
    )
    parser.add_argument(
        "--extensions",
        nargs="+",
        default=["png", "jpeg", "jpg"],
        help="image file extensions to look for in both folders (case-insensitive: jpeg matches .JPEG)",
    )
    parser.add_argument(
        "--content-size", type=int, default=0, help="resize the content's shorter side to this; 0 keeps the size"
    )
    parser.add_argument(
        "--style-size", type=int, default=512, help="resize the painting's shorter side to this; 0 keeps the size"
    )
    parser.add_argument(
        "--crop", type=int, default=0, help="center crop of this size after resizing the content; 0: none"
    )
    parser.add_argument(
        "--vgg",
        default=None,
        help="pytorch-AdaIN vgg_normalised.pth (default: weights/ of the current folder, else the workflow's: "
        "the checkout's config.yaml vgg_weights)",
    )
    parser.add_argument(
        "--decoder",
        default=None,
        help="pytorch-AdaIN decoder.pth (default: weights/ of the current folder, else the workflow's: "
        "the checkout's config.yaml decoder_weights)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the painting draws: the same seed repeats a run")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16"],
        help="compute precision; half precisions on CUDA only (see docs/benchmarks.md for drift)",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="same-size images per forward pass")
    parser.add_argument(
        "--workers", type=int, default=2, help="decoding worker processes (0: decode in the main process)"
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="painting-statistics cache (default: $ADAIN_CACHE_DIR or ~/.cache/adain); 'none' disables it",
    )
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="reject images with more pixels than this"
    )
    parser.add_argument(
        "--jpeg-quality", type=int, default=75, help="quality of JPEG outputs (PIL's default, as stylize-datasets)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_stylize)


def _run_stylize(args: argparse.Namespace) -> int:
    from ..engine.cache import default_cache_dir
    from ..stages.counts import RANDOM_STANDIN_WARNING, STANDIN_HINT
    from .find_weights import find_weights
    from .stylize import FolderSettings, stylize_folder

    vgg, decoder = find_weights("vgg", args.vgg), find_weights("decoder", args.decoder)
    cache_dir = None if args.cache_dir == "none" else (args.cache_dir or default_cache_dir())
    settings = FolderSettings(
        num_styles=args.num_styles,
        alpha=args.alpha,
        extensions=args.extensions,
        content_size=args.content_size,
        style_size=args.style_size,
        crop=args.crop,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        batch_size=args.batch_size,
        workers=args.workers,
        cache_dir=cache_dir,
        max_pixels=args.max_pixels,
        jpeg_quality=args.jpeg_quality,
        progress=not args.no_progress,
        preserve_color=args.preserve_color,
    )
    summary = stylize_folder(args.content_dir, args.style_dir, args.output_dir, vgg, decoder, settings)
    print(
        f"{summary.written} images written to {args.output_dir} "
        f"({summary.images_per_second:.1f} images/s), {len(summary.skipped)} skipped (weights {vgg}, {decoder})"
    )
    if summary.random_standin:
        print(f"WARNING: {RANDOM_STANDIN_WARNING} ({STANDIN_HINT}); noted in {summary.standin_note}")
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
    parser.add_argument("dir", nargs="?", default=DEFAULT_WEIGHTS_DIR, help="target folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="random: replace existing files (never done otherwise)")
    parser.set_defaults(run=_run_weights)


def _run_weights(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..core.release import RELEASE_FILES, RELEASE_URL
    from ..core.weights import download_weights, write_random_weights

    if args.action == "random":
        for path in write_random_weights(args.dir, force=args.force):
            print(f"wrote random stand-in weights {path} (marked as such: datasets made with them say so)")
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
    parser.add_argument(
        "--grid",
        default=None,
        metavar="PNG",
        help="also write a sample grid: content beside stylized, captioned with class and painting",
    )
    parser.add_argument(
        "--content-dir",
        default=None,
        help="content root for the grid (default: the run's, from OUTPUT_DIR/summary.json)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--methods",
        default=None,
        metavar="PNG",
        help="write the first image's content under every texture-suppression method, side by side "
        "(needs the content: --content-dir)",
    )
    parser.set_defaults(run=_run_inspect)


def _run_inspect(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..data import find_shards
    from .inspect import format_report, inspect_shards

    report = inspect_shards(args.path)
    print(json.dumps(report, indent=1, default=str) if args.json else format_report(report))
    if args.grid:
        from ..engine.images import Preprocess
        from ..engine.presets import PRESETS, get_preset
        from ..stages.summarize import RANDOM_STANDIN_WARNING, sample_grid

        preset = report["provenance"].get("preset")
        recipe = get_preset(preset).content if preset in PRESETS else None
        painting_recipe = get_preset(preset).painting if preset in PRESETS else None
        content_dir = args.content_dir or _run_content_dir(Path(args.path))
        standin = report["provenance"].get("random_standin_weights") not in (None, False, [False])
        n = sample_grid(
            find_shards(args.path)[:4],
            args.grid,
            content_dir,
            recipe or Preprocess(),
            banner=RANDOM_STANDIN_WARNING if standin else None,
            style_dir=_run_content_dir(Path(args.path), "style_dir"),
            painting_recipe=painting_recipe,
        )
        where = f"contents from {content_dir}" if content_dir else "no contents: give --content-dir"
        print(f"wrote {n} samples to {args.grid} ({where})")
    if args.methods:
        from ..shards.format import read_shard
        from .inspect import methods_grid

        if args.content_dir is None:
            raise ValueError("--methods needs --content-dir (the content images)")
        first = read_shard(find_shards(args.path)[0]).content[0]
        titles = methods_grid(Path(args.content_dir) / first, args.methods)
        print(f"wrote {first} under {', '.join(titles)} to {args.methods}")
    return 0


def _run_content_dir(path: Path, key: str = "content_dir") -> str | None:
    """The content root (or, ``key="style_dir"``, the painting folder) a workflow output folder
    was made from (its ``summary.json``), if it still exists."""
    import json

    from ..run.paths import RunPaths

    listing = RunPaths(path).summary_json
    try:
        folder = json.loads(listing.read_text()).get(key) if listing.is_file() else None
    except (OSError, ValueError):
        return None
    return folder if folder and Path(folder).is_dir() else None


def _add_export(commands) -> None:
    parser = commands.add_parser(
        "export", help="shards back to an ImageFolder tree of image files, WebDataset tars or a Hugging Face dataset"
    )
    parser.add_argument("path", help="a workflow output folder, a folder of shards or one shard")
    parser.add_argument(
        "dest",
        help="target folder: <dest>/<split>/<wnid>/<name>.<format>, <dest>/<shard>.tar, or (hf) a new or empty folder",
    )
    parser.add_argument(
        "--format",
        default="png",
        choices=["png", "jpeg", "webdataset", "hf"],
        help="image files, WebDataset tar shards (one per shard: .png image, .cls label, .json metadata), or a "
        "Hugging Face dataset (Parquet files + README.md card; datasets.load_dataset(DEST) reads it)",
    )
    parser.add_argument("--max-shard-mb", type=float, default=500.0, help="hf: images per Parquet file, in MB")
    parser.add_argument(
        "--image-format", default="png", choices=["png", "jpeg"], help="image encoding inside WebDataset tars"
    )
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality")
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from .inspect import export_shards, export_webdataset

    if args.format == "hf":
        from .hf_dataset import export_hf

        counts = export_hf(args.path, args.dest, args.max_shard_mb)
        print(f"wrote {sum(counts.values())} images ({counts}) to {args.dest}; datasets.load_dataset({args.dest!r})")
        return 0
    if args.format == "webdataset":
        count = export_webdataset(args.path, args.dest, args.image_format, args.quality)
    else:
        count = export_shards(args.path, args.dest, args.format, args.quality)
    print(f"wrote {count} images to {args.dest}")
    return 0


def _add_status(commands) -> None:
    parser = commands.add_parser("status", help="where a workflow run stands: shards done, in progress, stale, ETA")
    parser.add_argument("output_dir", help="the workflow's output_dir (a folder, or s3://bucket/prefix)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(run=_run_status)


def _run_status(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from ..run.status import format_status, run_status

    with _local_copy(args.output_dir, records_only=True) as folder:  # a bucket's records, not its shards
        status = run_status(folder)
    if folder != args.output_dir:  # named by its URL, not by the scratch copy
        status = dataclasses.replace(status, output_dir=args.output_dir)
    print(json.dumps(dataclasses.asdict(status), indent=1) if args.json else format_status(status))
    return 0


@contextlib.contextmanager
def _local_copy(path: str, records_only: bool = False):
    """``path`` itself when it is a local folder; for ``s3://bucket/prefix``, a temporary folder that
    holds what the bucket holds (only the run's records with ``records_only``), removed afterwards."""
    import tempfile

    from ..files.objectstore import is_s3_url

    if not is_s3_url(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="adain-s3-") as scratch:
        _pull(path, scratch, records_only=records_only)
        yield scratch


def _pull(url: str, dest: str, records_only: bool = False):
    from ..files.objectstore import S3Folder
    from ..run.mirror import OutputMirror

    folder = S3Folder(url)
    folder.check()
    return OutputMirror(folder, dest).pull(records_only=records_only)


def _add_clean(commands) -> None:
    parser = commands.add_parser(
        "clean",
        help="remove what a workflow output folder no longer needs (--stale: the shards moved to stale/)",
        description="--stale removes <output_dir>/stale/, where shards go that a setting change moved out of the "
        "dataset. Never a current shard, never a file outside stale/, never while a run uses the folder.",
    )
    parser.add_argument("output_dir", help="the workflow's output_dir (a folder, or s3://bucket/prefix)")
    parser.add_argument("--stale", action="store_true", required=True, help="remove stale/")
    parser.add_argument("--dry-run", "-n", action="store_true", help="only say what would be removed")
    parser.set_defaults(run=_run_clean)


def _run_clean(args: argparse.Namespace) -> int:
    from ..files.objectstore import is_s3_url
    from ..run.stale import clean_stale, clean_stale_in_bucket

    clean = clean_stale_in_bucket if is_s3_url(args.output_dir) else clean_stale
    usage = clean(args.output_dir, dry_run=args.dry_run)
    print(f"{'would remove' if args.dry_run else 'removed'} {usage} from {args.output_dir}/stale")
    if is_s3_url(args.output_dir):
        print("(a machine's local copy keeps its own stale/: clean it too, or its next run sends it up again)")
    return 0


def _add_pull(commands) -> None:
    parser = commands.add_parser(
        "pull",
        help="copy a workflow output folder kept in S3 (output_dir: s3://...) to a local folder",
        description="Fetches what s3://bucket/prefix holds and DEST lacks (or holds older), so that the readers, "
        "adain verify and adain inspect read it (docs/storage.md). The endpoint and keys come from "
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL/_ACCESS_KEY/_SECRET_KEY or boto3's usual AWS_* settings.",
    )
    parser.add_argument("url", help="s3://bucket/prefix (a workflow's output_dir)")
    parser.add_argument("dest", help="local folder (created; files it holds already are not fetched again)")
    parser.set_defaults(run=_run_pull)


def _run_pull(args: argparse.Namespace) -> int:
    print(f"pulled {_pull(args.url, args.dest)} from {args.url} into {args.dest}")
    return 0


def _add_verify(commands) -> None:
    parser = commands.add_parser(
        "verify",
        help="re-check every image of every shard against its stored checksum",
        description="Reads every image of the dataset's shards and compares it with the CRC-32 stored when it was "
        "packed. Exit status 1 if any shard is damaged. --repair moves damaged shards out of the "
        "dataset (to <output_dir>/stale/), so that the next run of the workflow makes them again.",
    )
    parser.add_argument(
        "path", help="a workflow output folder (or s3://bucket/prefix), a folder of shards or one shard"
    )
    parser.add_argument("--workers", type=int, default=4, help="shards checked at once")
    parser.add_argument("--repair", action="store_true", help="move damaged shards to <output_dir>/stale/")
    parser.set_defaults(run=_run_verify)


def _run_verify(args: argparse.Namespace) -> int:
    from ..files.objectstore import is_s3_url
    from ..run.verify import verify_output

    if args.repair and is_s3_url(args.path):
        raise ValueError("--repair works on a local copy: repair the run's local_copy (or adain pull it) and rerun")
    with _local_copy(args.path) as folder:  # every shard is read: a bucket's are fetched
        return verify_output(folder, args.workers, args.repair)


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
    _add_status(commands)
    _add_pull(commands)
    _add_clean(commands)
    _add_verify(commands)
    add_evaluation_commands(commands)
    add_synthesis_commands(commands)
    add_analysis_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)  # not a line per credential lookup
    try:
        return args.run(args)
    except BrokenPipeError:  # e.g. `adain inspect OUT | head`: the reader has gone, so end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (OSError, ValueError, RuntimeError) as error:  # WeightsError is a ValueError
        print(f"adain: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

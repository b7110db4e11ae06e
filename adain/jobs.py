"""One function per workflow rule: what ``workflow/scripts/*.py`` call.

Each takes plain paths and settings (no Snakemake objects) and writes its outputs atomically.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path
from typing import Iterator, Sequence

from .images import Preprocess

__all__ = [
    "logged", "config_hash", "index_job", "prepare_paintings_job", "painting_stats_job",
    "merge_painting_stats_job", "assign_styles_job", "stylize_shard_job", "validate_shard_job",
    "pack_shard_job", "summarize_job", "download_weights_job", "make_cue_conflict_job", "shape_bias_job",
    "plot_shape_bias_job", "accuracy_job",
]


@contextlib.contextmanager
def logged(log_file: str | Path) -> Iterator[None]:
    """Send stderr (progress bars, warnings, tracebacks) and logging of one job to ``log_file``."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", buffering=1, encoding="utf-8") as handle, contextlib.redirect_stderr(handle):
        logging.basicConfig(stream=handle, level=logging.INFO, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            yield
        except BaseException:
            logging.getLogger("adain").exception("job failed")
            raise


#: Config keys that change where or how fast a run works, never what it produces.
#: ``evaluation`` only reads the shards.
NOT_HASHED = (
    "output_dir", "cache_dir", "workers", "checkpoint_images", "checkpoint_seconds", "paintings_per_job", "evaluation",
)


def config_hash(config: dict) -> str:
    """sha256 of the configuration (canonical JSON, without :data:`NOT_HASHED` keys), stored on
    every shard: two shards with the same hash were made the same way."""
    kept = {k: v for k, v in config.items() if k not in NOT_HASHED}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def _single(paths) -> str | None:
    """A named Snakemake input that holds one path or none (optional inputs of filter methods)."""
    if isinstance(paths, (str, Path)):
        return str(paths)
    paths = list(paths)
    return str(paths[0]) if paths else None


def download_weights_job(url: str, target: str, kind: str) -> None:
    from .weights import download_weights

    sha = download_weights(url, target, kind)
    logging.getLogger("adain").info("downloaded %s (sha256 %s)", target, sha)


def index_job(content_dir, splits, extensions, val_labels, class_index, images_tsv, classes_tsv, notes_txt) -> None:
    from .atomic import atomic_write_text
    from .index import write_index

    per_split, notes = write_index(content_dir, splits, images_tsv, classes_tsv, extensions, val_labels or None,
                                   class_index or None)
    for note in notes:
        logging.getLogger("adain").warning(note)
    atomic_write_text(notes_txt, "".join(f"{n}\n" for n in notes))
    logging.getLogger("adain").info("indexed %d images: %s", sum(per_split.values()), per_split)


def prepare_paintings_job(style_dir, extensions, min_side, max_pixels, accepted_tsv, rejected_tsv) -> None:
    from .paintings import prepare_paintings

    accepted, rejected = prepare_paintings(style_dir, accepted_tsv, rejected_tsv, extensions, min_side, max_pixels)
    logging.getLogger("adain").info("%d paintings accepted, %d rejected", accepted, rejected)


def painting_stats_job(style_dir, accepted_tsv, chunk, chunk_size, vgg, decoder, preset, cache_dir, out_npz,
                       device, batch_size, workers, max_pixels) -> None:
    from .gpus import gpu_slot
    from .paintings import compute_stats, read_painting_list
    from .presets import get_preset

    names = read_painting_list(accepted_tsv)[chunk * chunk_size : (chunk + 1) * chunk_size]
    with gpu_slot(device) as device:
        compute_stats(style_dir, names, vgg, decoder, get_preset(**preset).painting, out_npz, cache_dir or None,
                      device, batch_size, workers, max_pixels)


def merge_painting_stats_job(chunks: Sequence[str], rejected_tsv, out_h5, preset) -> None:
    from .paintings import merge_stats
    from .presets import get_preset

    usable = merge_stats(chunks, rejected_tsv, out_h5, {"painting_recipe": get_preset(**preset).painting.key})
    logging.getLogger("adain").info("%d paintings usable", usable)


def assign_styles_job(images_tsv, stats_h5, seed, shard_size, out_dir) -> None:
    from .manifest import write_manifests
    from .paintings import PaintingStats

    paintings = PaintingStats(_single(stats_h5)).names if _single(stats_h5) else None  # None: a filter method
    counts = write_manifests(images_tsv, paintings, seed, shard_size, out_dir)
    logging.getLogger("adain").info("shards per split: %s", counts)


def stylize_shard_job(manifest, stats_h5, content_dir, vgg, decoder, preset, out_h5, settings: dict, attrs: dict,
                      threads: int = 1) -> None:
    import torch

    from .gpus import gpu_slot
    from .presets import get_preset
    from .stylize_shard import stylize_shard

    torch.set_num_threads(max(1, threads))
    with gpu_slot(settings["device"]) as device:
        stylize_shard(manifest, _single(stats_h5), content_dir, vgg, decoder, get_preset(**preset), out_h5,
                      attrs=attrs, **{**settings, "device": device})


def validate_shard_job(shard_h5, manifest, report_json, preset, content_dir) -> None:
    from .presets import get_preset
    from .validate import validate_shard

    report = validate_shard(shard_h5, manifest, report_json, get_preset(**preset).size, content_dir)
    logging.getLogger("adain").info("%s: valid, %d images, %d rejected", shard_h5, report["images"], len(report["rejected"]))


def pack_shard_job(staging_h5, report_json, out_h5, compression, chunk_images) -> None:
    from .pack import pack_shard

    pack_shard(staging_h5, report_json, out_h5, compression or None, chunk_images)


def summarize_job(images_tsv, painting_rejects, reports, shards, notes_txt, summary_json, rejects_tsv, grid_png,
                  content_dir, preset) -> None:
    from .presets import get_preset
    from .summary import summarize

    recipe: Preprocess = get_preset(**preset).content
    notes = Path(notes_txt).read_text().splitlines()
    summary = summarize(images_tsv, painting_rejects, reports, shards, summary_json, rejects_tsv, grid_png,
                        content_dir, recipe, notes)
    logging.getLogger("adain").info("summary: %s", json.dumps(summary["splits"]))


def make_cue_conflict_job(shapes, textures, out_dir, vgg, decoder, size, device, batch_size, workers) -> None:
    from .cueconflict import make_cue_conflict

    summary = make_cue_conflict(shapes, textures, out_dir, vgg, decoder, size=size, device=device,
                                batch_size=batch_size, workers=workers)
    logging.getLogger("adain").info("wrote %d cue-conflict images, skipped %d inputs", summary.written, len(summary.skipped))


def shape_bias_job(name, model: dict, stimuli, out_dir, aggregation, device, batch_size, workers) -> None:
    """One model (and its Top-K sweep) on the cue-conflict set: CSVs and JSON summaries in ``out_dir``."""
    from .shapebias import run_shape_bias

    run_shape_bias(name, model.get("arch"), model["weights"], stimuli, out_dir, aggregation, model.get("topk", []),
                   model.get("topk_at"), device, batch_size, workers)


def plot_shape_bias_job(model_dirs: Sequence[str], figure, table_tsv) -> None:
    """Every summary of ``model_dirs`` in one figure, and a table of the overall figures."""
    from .atomic import atomic_write_text
    from .plots import plot_shape_bias
    from .shapebias import load_summaries, summary_table

    summaries = []
    for folder in model_dirs:  # each model: the plain one, then its Top-K variants by fraction
        found = load_summaries(Path(folder).glob("*.json"))
        summaries += sorted(found, key=lambda s: (s["topk"] or {}).get("fraction", 0.0))
    plot_shape_bias(summaries, figure)
    atomic_write_text(table_tsv, summary_table(summaries))


def accuracy_job(model: dict, shards: Sequence[str], out_json, size, aggregation, device, batch_size, workers) -> None:
    from .accuracy import run_accuracy

    run_accuracy(model.get("arch"), model["weights"], list(shards), out_json, device=device, batch_size=batch_size,
                 workers=workers, size=size, aggregation=aggregation)

"""One function per workflow rule: what ``workflow/scripts/*.py`` call.

Each takes plain paths and settings (no Snakemake objects) and writes its outputs atomically.
"""
from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from .reconcile import Plan
    from .settings import StylizeSettings

__all__ = [
    "logged", "index_job", "prepare_paintings_job", "painting_stats_job",
    "merge_painting_stats_job", "assign_styles_job", "stylize_shard_job", "validate_shard_job",
    "pack_shard_job", "summarize_job", "make_cue_conflict_job", "shape_bias_job",
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


def _single(paths) -> str | None:
    """A named Snakemake input that holds one path or none (optional inputs of filter methods)."""
    if isinstance(paths, (str, Path)):
        return str(paths)
    paths = list(paths)
    return str(paths[0]) if paths else None


def index_job(content_dir, splits, extensions, val_labels, class_index, images_tsv, classes_tsv, notes_txt,
              rejected_tsv=None) -> None:
    from .atomic import atomic_write_text
    from .index import write_index

    per_split, notes = write_index(content_dir, splits, images_tsv, classes_tsv, extensions, val_labels or None,
                                   class_index or None, rejected_tsv)
    for note in notes:
        logging.getLogger("adain").warning(note)
    atomic_write_text(notes_txt, "".join(f"{n}\n" for n in notes))
    logging.getLogger("adain").info("indexed %d images: %s", sum(per_split.values()), per_split)


def prepare_paintings_job(style_dir, extensions, min_side, max_pixels, accepted_tsv, rejected_tsv) -> None:
    from .paintings import prepare_paintings

    accepted, rejected = prepare_paintings(style_dir, accepted_tsv, rejected_tsv, extensions, min_side, max_pixels)
    logging.getLogger("adain").info("%d paintings accepted, %d rejected", accepted, rejected)


def painting_stats_job(style_dir, accepted_tsv, chunk: int, chunk_size: int, vgg, decoder,
                       settings: "StylizeSettings", cache_dir, out_npz) -> None:
    from .gpus import gpu_slot
    from .paintings import compute_stats, read_chunk_rows

    rows = read_chunk_rows(accepted_tsv, chunk, chunk_size)
    with gpu_slot(settings.device) as device:
        compute_stats(style_dir, [r["painting"] for r in rows], vgg, decoder, settings.get_preset().painting, out_npz,
                      cache_dir or None, device, settings.batch_size, settings.workers, settings.max_pixels, rows=rows)


def merge_painting_stats_job(chunks: Sequence[str], rejected_tsv, out_h5, plan: "Plan", accepted_tsv) -> None:
    from .paintings import merge_stats

    attrs = {"painting_recipe": plan.recipe_key, "fingerprint": plan.stats_fingerprint(Path(accepted_tsv))}
    usable = merge_stats(chunks, rejected_tsv, out_h5, attrs)
    logging.getLogger("adain").info("%d paintings usable", usable)


def assign_styles_job(images_tsv, stats_h5, seed, shard_size, out_dir, order: str = "shuffled",
                      styles_per_image: int = 1) -> None:
    from .manifest import write_manifests
    from .paintings import PaintingStats

    paintings = PaintingStats(_single(stats_h5)).names if _single(stats_h5) else None  # None: a filter method
    counts = write_manifests(images_tsv, paintings, seed, shard_size, out_dir, order, styles_per_image)
    logging.getLogger("adain").info("shards per split: %s", counts)


def stylize_shard_job(manifest, stats_h5, vgg, decoder, out_h5, settings: "StylizeSettings", content_dir, output_dir=None,
                      attrs: dict | None = None, expected_identity: dict | None = None, style_dir=None) -> dict:
    """One shard; then one line for the terminal: the shard, its speed, and the whole run's ETA."""
    import torch

    from .gpus import gpu_slot
    from .stylize_shard import stylize_shard

    # on the CPU the thread count decides the pixels; set always (no CUDA call before gpu_slot)
    torch.set_num_threads(max(1, settings.cpu_threads))
    with gpu_slot(settings.device) as device:
        result = stylize_shard(manifest, _single(stats_h5), content_dir, vgg, decoder, out_h5,
                               replace(settings, device=device), attrs, expected_identity, style_dir=style_dir)
    if output_dir is not None:
        from .status import progress_line

        try:  # only a line for the user: other jobs may be moving files meanwhile
            line = progress_line(output_dir, Path(out_h5), result)
        except Exception as error:  # noqa: BLE001
            line = f"adain: stylized {out_h5}: {result['images']} images ({error.__class__.__name__} in the progress figures)"
        logging.getLogger("adain").info(line)
        print(line, flush=True)
    return result


def validate_shard_job(shard_h5, manifest, report_json, settings: "StylizeSettings", content_dir,
                       expected_fingerprint: str | None = None) -> None:
    from .validate import validate_shard

    report = validate_shard(shard_h5, manifest, report_json, settings.get_preset().size, content_dir, expected_fingerprint)
    logging.getLogger("adain").info("%s: valid, %d images, %d rejected", shard_h5, report["images"], len(report["rejected"]))


def pack_shard_job(staging_h5, report_json, out_h5, compression, chunk_images: int = 1) -> None:
    from .pack import pack_shard

    pack_shard(staging_h5, report_json, out_h5, compression or None, chunk_images)


def summarize_job(images_tsv, painting_rejects, reports, shards, notes_txt, index_rejects_tsv, summary_json, rejects_tsv,
                  grid_png, content_dir, settings: "StylizeSettings", expected: dict | None = None,
                  output_dir=None, card_md=None, config: dict | None = None) -> None:
    from .summary import summarize

    notes = Path(notes_txt).read_text().splitlines()
    summary = summarize(images_tsv, painting_rejects, reports, shards, summary_json, rejects_tsv, grid_png,
                        content_dir, settings.get_preset().content, notes, index_rejects_tsv, expected, output_dir,
                        card_md, config, int((config or {}).get("styles_per_image", 1)))
    logging.getLogger("adain").info("summary: %s", json.dumps(summary["splits"]))


def make_cue_conflict_job(shapes, textures, out_dir, vgg, decoder, size, device, batch_size, workers) -> None:
    from .cueconflict import make_cue_conflict
    from .gpus import gpu_slot

    with gpu_slot(device) as claimed:
        summary = make_cue_conflict(shapes, textures, out_dir, vgg, decoder, size=size, device=claimed,
                                    batch_size=batch_size, workers=workers)
    logging.getLogger("adain").info("wrote %d cue-conflict images, skipped %d inputs", summary.written, len(summary.skipped))


def shape_bias_job(name, model: dict, stimuli, out_dir, aggregation, device, batch_size, workers) -> None:
    """One model (and its Top-K sweep) on the cue-conflict set: CSVs and JSON summaries in ``out_dir``."""
    from .gpus import gpu_slot
    from .shapebias import run_shape_bias

    with gpu_slot(device) as claimed:  # like a stylize job: one GPU of the machine, its own
        run_shape_bias(name, model.get("arch"), model["weights"], stimuli, out_dir, aggregation,
                       model.get("topk", []), model.get("topk_at"), claimed, batch_size, workers)


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
    from .gpus import gpu_slot

    with gpu_slot(device) as claimed:
        run_accuracy(model.get("arch"), model["weights"], list(shards), out_json, device=claimed,
                     batch_size=batch_size, workers=workers, size=size, aggregation=aggregation)

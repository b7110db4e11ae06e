"""One function per building rule: what ``workflow/scripts/*.py`` call.

Each takes one settings object (:class:`adain.stages.settings.RunSettings` or a part of it, built
from the configuration in one place) and its files as named arguments, never Snakemake objects,
and writes its outputs atomically. The evaluation rules' jobs are in :mod:`adain.evaluation.jobs`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..files.joblog import logged

if TYPE_CHECKING:
    from ..stages.settings import IndexSettings, PackSettings, RunSettings
    from .reconcile import Plan

__all__ = [
    "logged",
    "index_job",
    "prepare_paintings_job",
    "painting_stats_job",
    "merge_painting_stats_job",
    "assign_styles_job",
    "stylize_shard_job",
    "validate_shard_job",
    "pack_shard_job",
    "summarize_job",
    "single",
]

log = logging.getLogger("adain")


def single(paths) -> str | None:
    """A named Snakemake input that holds one path or none (optional inputs of filter methods)."""
    if paths is None or isinstance(paths, (str, Path)):
        return None if paths is None else str(paths)
    paths = list(paths)
    return str(paths[0]) if paths else None


def index_job(settings: IndexSettings, *, images_tsv, classes_tsv, notes_txt, rejected_tsv=None) -> None:
    from ..files.atomic import atomic_write_text
    from ..stages.index_images import write_index

    per_split, notes = write_index(
        settings.content_dir,
        settings.splits,
        images_tsv,
        classes_tsv,
        settings.extensions,
        settings.val_labels,
        settings.class_index,
        rejected_tsv,
    )
    for note in notes:
        log.warning(note)
    atomic_write_text(notes_txt, "".join(f"{n}\n" for n in notes))
    log.info("indexed %d images: %s", sum(per_split.values()), per_split)


def prepare_paintings_job(settings: RunSettings, *, accepted_tsv, rejected_tsv) -> None:
    """The painting list; then the statistics chunks of another list go (adain.run.start)."""
    from ..stages.paintings import painting_warnings, prepare_paintings
    from .start import after_painting_list

    paintings = settings.paintings
    accepted, rejected = prepare_paintings(
        paintings.style_dir, accepted_tsv, rejected_tsv, paintings.extensions, paintings.min_side, paintings.max_pixels
    )
    log.info("%d paintings accepted, %d rejected", accepted, rejected)
    for warning in painting_warnings(accepted, settings.manifest.shard_size):
        log.warning(warning)
        print(f"adain: warning: {warning}", flush=True)
    after_painting_list(settings)


def painting_stats_job(settings: RunSettings, *, chunk: int, accepted_tsv, vgg, decoder, out_npz) -> None:
    """Statistics of one chunk of ``paintings.per_job`` paintings, on a claimed GPU (or the CPU)."""
    from ..engine.gpus import gpu_slot
    from ..stages.paintings import compute_stats, read_chunk_rows

    paintings, stylize = settings.paintings, settings.stylize
    rows = read_chunk_rows(accepted_tsv, int(chunk), paintings.per_job)
    with gpu_slot(stylize.device) as device:
        compute_stats(
            paintings.style_dir,
            [r["painting"] for r in rows],
            vgg,
            decoder,
            stylize.get_preset().painting,
            out_npz,
            paintings.cache_dir or None,
            device,
            stylize.batch_size,
            stylize.workers,
            stylize.max_pixels,
            rows=rows,
        )


def merge_painting_stats_job(plan: Plan, *, chunks: Sequence[str], rejected_tsv, out_h5, accepted_tsv) -> None:
    from ..stages.paintings import merge_stats

    attrs = {"painting_recipe": plan.recipe_key, "fingerprint": plan.stats_fingerprint(Path(accepted_tsv))}
    usable = merge_stats(chunks, rejected_tsv, out_h5, attrs)
    log.info("%d paintings usable", usable)


def assign_styles_job(settings: RunSettings, *, images_tsv, stats_h5, out_dir) -> None:
    """The manifests; ``stats_h5`` (the painting list) is ``None`` for methods without paintings.
    Then the shards on disk are reconciled with them and the plan recorded (adain.run.start)."""
    from ..stages.assign_styles import write_manifests
    from ..stages.paintings import PaintingStats
    from .start import after_manifests

    stats_h5, manifest = single(stats_h5), settings.manifest
    paintings = PaintingStats(stats_h5).names if stats_h5 else None
    counts = write_manifests(
        images_tsv, paintings, manifest.seed, manifest.shard_size, out_dir, manifest.order, manifest.styles_per_image
    )
    log.info("shards per split: %s", counts)
    after_manifests(settings)


def _checkpoint_copier(settings: RunSettings):
    """Checkpoints reach the bucket too when ``output_dir`` is one (:mod:`adain.run.mirror`)."""
    if not settings.output_storage:
        return None
    from .mirror import checkpoint_copier

    return checkpoint_copier(settings.output_storage, settings.output_dir)


def stylize_shard_job(
    settings: RunSettings,
    *,
    manifest,
    stats_h5,
    vgg,
    decoder,
    out_h5,
    attrs: dict | None = None,
    expected_identity: dict | None = None,
    progress: bool = True,
) -> dict:
    """One shard; then one line for the terminal: the shard, its speed, and the whole run's ETA.
    The shard records the run's painting seed beside ``attrs`` (its split and number)."""
    import torch

    from ..engine.gpus import gpu_slot
    from ..stages.stylize_shard import stylize_shard

    stylize = settings.stylize
    # on the CPU the thread count decides the pixels; set always (no CUDA call before gpu_slot)
    torch.set_num_threads(max(1, stylize.cpu_threads))
    with gpu_slot(stylize.device) as device:
        result = stylize_shard(
            manifest,
            single(stats_h5),
            settings.index.content_dir,
            vgg,
            decoder,
            out_h5,
            replace(stylize, device=device),
            {"seed": settings.manifest.seed, **(attrs or {})},
            expected_identity,
            style_dir=settings.paintings.style_dir,
            on_checkpoint=_checkpoint_copier(settings),
        )
    if progress:
        from .status import progress_line

        try:  # only a line for the user: other jobs may be moving files meanwhile
            line = progress_line(settings.output_dir, Path(out_h5), result)
        except Exception as error:  # noqa: BLE001
            line = f"adain: stylized {out_h5}: {result['images']} images ({error.__class__.__name__} in the progress figures)"
        log.info(line)
        print(line, flush=True)
    return result


def validate_shard_job(
    settings: RunSettings, *, shard_h5, manifest, report_json, expected_fingerprint: str | None = None
) -> None:
    from ..stages.validate_shard import validate_shard

    report = validate_shard(
        shard_h5,
        manifest,
        report_json,
        settings.stylize.get_preset().size,
        settings.index.content_dir,
        expected_fingerprint,
    )
    log.info("%s: valid, %d images, %d rejected", shard_h5, report["images"], len(report["rejected"]))


def pack_shard_job(settings: PackSettings, *, staging_h5, report_json, out_h5) -> None:
    from ..stages.pack_shard import pack_shard

    how = pack_shard(staging_h5, report_json, out_h5, settings.compression, settings.chunk_images)
    log.info("%s: packed (%s)", out_h5, how)


def summarize_job(
    settings: RunSettings,
    *,
    images_tsv,
    painting_rejects,
    reports,
    shards,
    notes_txt,
    index_rejects_tsv,
    summary_json,
    rejects_tsv,
    grid_png,
    card_md=None,
    plots_png=None,
    expected: dict | None = None,
    painting_stats=None,
    overview_rst=None,
    card_html=None,
    rejects_html=None,
) -> None:
    from ..stages.summarize import SummaryInputs, SummaryOutputs, summarize

    notes = Path(notes_txt).read_text().splitlines()
    inputs = SummaryInputs(
        images_tsv, reports, shards, painting_rejects, index_rejects_tsv, notes, single(painting_stats)
    )
    outputs = SummaryOutputs(
        summary_json, rejects_tsv, grid_png, card_md, plots_png, overview_rst, card_html, rejects_html
    )
    summary = summarize(inputs, outputs, settings, expected)
    log.info("summary: %s", json.dumps(summary["splits"]))

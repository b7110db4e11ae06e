"""One function per evaluation rule: what ``workflow/scripts/*.py`` call for the ``evaluation``
section. Each takes :class:`adain.evaluation.settings.EvaluationSettings` and its files as named
arguments; the GPU jobs claim a device like the stylize jobs (:func:`adain.engine.gpus.gpu_slot`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..files.joblog import logged

if TYPE_CHECKING:
    from .settings import EvaluationSettings

__all__ = [
    "logged",
    "make_cue_conflict_job",
    "shape_bias_job",
    "plot_shape_bias_job",
    "accuracy_job",
    "synthesize_topk_job",
    "dimensions_job",
    "plot_dimensions_job",
    "decodability_job",
    "plot_decodability_job",
    "refined_bias_job",
]

log = logging.getLogger("adain")


def make_cue_conflict_job(settings: EvaluationSettings, *, vgg, decoder, out_dir) -> None:
    from ..engine.gpus import gpu_slot
    from .cueconflict import make_cue_conflict

    with gpu_slot(settings.device) as claimed:
        summary = make_cue_conflict(
            settings.shapes,
            settings.textures,
            out_dir,
            vgg,
            decoder,
            size=settings.stimulus_size,
            device=claimed,
            batch_size=settings.stylize_batch_size,
            workers=settings.workers,
        )
    log.info("wrote %d cue-conflict images, skipped %d inputs", summary.written, len(summary.skipped))


def shape_bias_job(settings: EvaluationSettings, *, name: str, stimuli, out_dir) -> None:
    """Model ``name`` (and its Top-K sweep) on the cue-conflict set: CSVs and JSON summaries in ``out_dir``."""
    from ..engine.gpus import gpu_slot
    from .shapebias import run_shape_bias

    model = settings.models[name]
    with gpu_slot(settings.device) as claimed:  # like a stylize job: one GPU of the machine, its own
        run_shape_bias(
            name,
            model.get("arch"),
            model["weights"],
            stimuli,
            out_dir,
            settings.aggregation,
            model.get("topk", []),
            model.get("topk_at"),
            claimed,
            settings.batch_size,
            settings.workers,
        )


def plot_shape_bias_job(*, model_dirs: Sequence[str], figure, table_tsv) -> None:
    """Every summary of ``model_dirs`` in one figure, and a table of the overall figures."""
    from ..files.atomic import atomic_write_text
    from .plots import plot_shape_bias
    from .shapebias import load_summaries, summary_table

    summaries = []
    for folder in model_dirs:  # each model: the plain one, then its Top-K variants by fraction
        found = load_summaries(Path(folder).glob("*.json"))
        summaries += sorted(found, key=lambda s: (s["topk"] or {}).get("fraction", 0.0))
    plot_shape_bias(summaries, figure)
    atomic_write_text(table_tsv, summary_table(summaries))


def accuracy_job(settings: EvaluationSettings, *, name: str, shards: Sequence[str], out_json) -> None:
    from ..engine.gpus import gpu_slot
    from .accuracy import run_accuracy

    model = settings.models[name]
    with gpu_slot(settings.device) as claimed:
        run_accuracy(
            model.get("arch"),
            model["weights"],
            list(shards),
            out_json,
            device=claimed,
            batch_size=settings.batch_size,
            workers=settings.workers,
            size=settings.accuracy_size,
            aggregation=settings.aggregation,
        )


def synthesize_topk_job(settings: EvaluationSettings, *, images, vgg, out_dir) -> None:
    """Texture synthesis and feature reconstruction through Top-K masks of every photo under
    ``images`` (``evaluation.synthesis``): pictures, ``synthesis.json`` and the figure in ``out_dir``."""
    import dataclasses

    from ..engine.gpus import gpu_slot
    from .synthesis_run import run_synthesis

    with gpu_slot(settings.device) as claimed:
        summary = run_synthesis(
            [images], vgg, out_dir, dataclasses.replace(settings.synthesis, device=claimed), progress=False
        )
    log.info("synthesised %d photos, skipped %d inputs", len(summary["images"]), len(summary["skipped"]))


def dimensions_job(settings: EvaluationSettings, *, name: str, images: Sequence[str], out_json, out_csv) -> None:
    """Shape and texture dimensions of model ``name``: on ``images`` (this run's shards of the
    configured split) or on the configured Stylized-VOC folder."""
    from ..engine.gpus import gpu_slot
    from .dimensions import run_dimensions

    model, dimensions = settings.models[name], settings.dimensions
    with gpu_slot(settings.device) as claimed:
        run_dimensions(
            name,
            model.get("arch"),
            model["weights"],
            out_json,
            out_csv,
            shards=None if dimensions["svoc"] else list(images),
            svoc=dimensions["svoc"] or None,
            stages=dimensions["stages"] or None,
            seeds=dimensions["seeds"],
            draw=dimensions["draw"],
            max_pairs=dimensions["max_pairs"],
            size=dimensions["size"],
            device=claimed,
            batch_size=settings.batch_size,
            workers=settings.workers,
        )


def plot_dimensions_job(*, summaries: Sequence[str], figure) -> None:
    from .analysis_plots import plot_dimensions
    from .dimensions import load_dimension_summaries

    plot_dimensions(load_dimension_summaries(summaries), figure)


def decodability_job(settings: EvaluationSettings, *, name: str, stimuli, out_json, out_csv) -> None:
    from ..engine.gpus import gpu_slot
    from .decodability import run_decodability

    model, decodability = settings.models[name], settings.decodability
    with gpu_slot(settings.device) as claimed:
        run_decodability(
            name,
            model.get("arch"),
            model["weights"],
            stimuli,
            out_json,
            out_csv,
            layers=decodability["layers"] or None,
            folds=decodability["folds"],
            seed=decodability["seed"],
            l2=decodability["l2"],
            group=decodability["group"],
            device=claimed,
            batch_size=settings.batch_size,
            workers=settings.workers,
        )


def plot_decodability_job(*, summaries: Sequence[str], figure) -> None:
    from .analysis_plots import plot_decodability
    from .decodability import load_decodability_summaries

    plot_decodability(load_decodability_summaries(summaries), figure)


def refined_bias_job(settings: EvaluationSettings, *, name: str, data, out_json) -> None:
    """REFINED-BIAS of model ``name``: ``out_json`` and the per-image CSV beside it."""
    from ..engine.gpus import gpu_slot
    from .refinedbias import run_refined_bias

    model = settings.models[name]
    with gpu_slot(settings.device) as claimed:
        run_refined_bias(
            name,
            model.get("arch"),
            model["weights"],
            data,
            out_json,
            device=claimed,
            batch_size=settings.batch_size,
            workers=settings.workers,
        )

"""Shape and texture dimensions of a classifier's layers (Islam et al., ICLR 2021), end to end:
images (a run's shards or a Stylized-VOC folder) -> pairs per seed (:mod:`.pairs`) -> pooled
features of each layer (:mod:`.features`) -> :func:`adain.evaluation.dimensionality.estimate_dimensions`
per layer and seed -> a JSON summary (with the mean and spread over the seeds) and a CSV table.

Every image any seed needs is run through the model once; the seeds differ in their pairs only.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .. import __version__
from ..files.atomic import atomic_write_text
from .dimensionality import FACTOR_NAMES, estimate_dimensions
from .pairs import DRAWS, Catalogue, draw_pairs, shard_catalogue, svoc_catalogue

__all__ = ["run_dimensions", "estimate_layers", "load_dimension_summaries", "dimensions_table"]

log = logging.getLogger(__name__)

_COLUMNS = [
    "model",
    "stage",
    "module",
    "units",
    "seed",
    "shape_dims",
    "texture_dims",
    "residual_dims",
    "shape_percent",
    "texture_percent",
    "residual_percent",
    "shape_score",
    "texture_score",
]


def estimate_layers(features: dict[str, np.ndarray], pair_sets: Sequence) -> list[dict]:
    """:func:`estimate_dimensions` of every layer under every pair set.

    Args:
        features: layer name -> ``(M, D)`` features of the images the pairs index.
        pair_sets: :class:`adain.evaluation.pairs.PairSet` objects (one per seed).

    Returns:
        One entry per layer, in order: ``stage``, ``units``, ``runs`` (per seed: ``seed``, ``scores``,
        ``dims``, ``percent``), and over the seeds ``dims_mean``, ``dims_std``, ``percent_mean``,
        ``percent_std`` (population standard deviation; 0 with one seed).
    """
    layers = []
    for name, rows in features.items():
        runs = []
        for pairs in pair_sets:
            estimate = estimate_dimensions(rows[pairs.first], rows[pairs.second], pairs.factors)
            runs.append(
                {
                    "seed": pairs.seed,
                    "scores": list(estimate.scores),
                    "dims": list(estimate.dims),
                    "percent": list(estimate.percent),
                }
            )
        dims = np.array([run["dims"] for run in runs], dtype=np.float64)
        percent = np.array([run["percent"] for run in runs], dtype=np.float64)
        layers.append(
            {
                "stage": name,
                "units": int(rows.shape[1]),
                "runs": runs,
                "dims_mean": dims.mean(axis=0).tolist(),
                "dims_std": dims.std(axis=0).tolist(),
                "percent_mean": percent.mean(axis=0).tolist(),
                "percent_std": percent.std(axis=0).tolist(),
            }
        )
    return layers


def _source_path(root: str | list[str]) -> str:
    """A folder as it is; a list of shard files as their common folder."""
    return root if isinstance(root, str) else os.path.commonpath(root)


def _catalogue(shards, split, svoc, svoc_textures) -> Catalogue:
    if bool(shards) == bool(svoc):
        raise ValueError("give the images either as a run's shards or as a Stylized-VOC folder (one of them)")
    return shard_catalogue(shards, split) if shards else svoc_catalogue(svoc, svoc_textures)


def run_dimensions(
    name: str,
    arch: str | None,
    weights: str | Path,
    out_json: str | Path,
    out_csv: str | Path | None = None,
    *,
    shards: str | Path | None = None,
    split: str | None = None,
    svoc: str | Path | None = None,
    svoc_textures: Sequence[str] | None = None,
    stages: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    draw: str = "islam",
    max_pairs: int | None = 20000,
    size: int = 224,
    device: str = "auto",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
) -> dict:
    """Estimate the shape and texture dimensions of a classifier's layers and write them.

    Args:
        name: the model's name in the outputs.
        arch, weights: the classifier (:func:`adain.evaluation.classifier.load_classifier`).
        out_json: the summary; ``out_csv`` (default: beside it, ``.csv``) one row per layer and seed.
        shards, split: a run's shards (with ``styles_per_image >= 2``: a folder or a list of shard
            files), optionally one split; or
        svoc, svoc_textures: a Stylized-VOC folder, optionally only some texture ids.
        stages: layers (``f1`` .. ``f5`` or module names; default the five ResNet stages).
        seeds: one pair set per seed; the summary gives the mean and spread over them.
        draw: ``islam`` (default, the released code's four labels) or ``two-way``.
        max_pairs: first members per seed (``None``/0: every image).
        size: images are squashed to ``size x size`` (the authors used 513 for CNNs).

    Returns:
        The summary written to ``out_json``.
    """
    from ..engine.device import resolve_device
    from ..files.hashing import file_sha256
    from .classifier import load_classifier, resolve_weights
    from .features import FileImages, extract, resolve_layers, shard_images

    if draw not in DRAWS:
        raise ValueError(f"unknown pair draw {draw!r}; use one of {', '.join(DRAWS)}")
    if not seeds:
        raise ValueError("give at least one seed")
    catalogue = _catalogue(shards, split, svoc, svoc_textures)
    pair_sets = [draw_pairs(catalogue, seed, draw, max_pairs) for seed in seeds]
    for pairs in pair_sets:
        log.info("seed %d: %s", pairs.seed, pairs.counts())
    needed = np.unique(np.concatenate([np.concatenate([p.first, p.second]) for p in pair_sets]))
    torch_device = resolve_device(device)
    weights = resolve_weights(arch, weights)
    model = load_classifier(arch, weights, torch_device)
    layers = resolve_layers(model, stages)
    if catalogue.kind == "shards":
        dataset = shard_images(catalogue.root, needed.tolist(), size, catalogue.split)
    else:
        dataset = FileImages([catalogue.images[i] for i in needed.tolist()], size)
    found = extract(model, dataset, layers, torch_device, batch_size, workers, progress, f"dimensions {name}")
    position = np.full(len(catalogue), -1, dtype=np.int64)
    position[needed] = np.arange(len(needed))
    remapped = [dataclasses.replace(p, first=position[p.first], second=position[p.second]) for p in pair_sets]
    estimates = estimate_layers(found, remapped)
    for layer in estimates:
        layer["module"] = layers[layer["stage"]]
    summary = {
        "model": name,
        "arch": arch,
        "weights": str(weights),
        "weights_sha256": file_sha256(weights),
        "source": {"kind": catalogue.kind, "path": _source_path(catalogue.root), "split": catalogue.split},
        "images": len(catalogue),
        "images_used": int(len(needed)),
        "size": size,
        "draw": draw,
        "max_pairs": max_pairs or None,
        "seeds": list(seeds),
        "factors": list(FACTOR_NAMES),
        "pairs": [{"seed": p.seed, **p.counts()} for p in pair_sets],
        "stages": estimates,
        "package_version": __version__,
    }
    out_json = Path(out_json)
    atomic_write_text(out_json, json.dumps(summary, indent=1) + "\n")
    atomic_write_text(Path(out_csv) if out_csv else out_json.with_suffix(".csv"), dimensions_table([summary]))
    return summary


def dimensions_table(summaries: Iterable[dict]) -> str:
    """One CSV row per model, layer and seed: units, dims, percent and scores per factor."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for summary in summaries:
        for layer in summary["stages"]:
            for run in layer["runs"]:
                writer.writerow(
                    [summary["model"], layer["stage"], layer.get("module", ""), layer["units"], run["seed"]]
                    + run["dims"]
                    + run["percent"]
                    + run["scores"][:2]
                )
    return out.getvalue()


def load_dimension_summaries(paths: Iterable[str | Path]) -> list[dict]:
    """Read :func:`run_dimensions` summaries; anything else is refused."""
    summaries = []
    for path in paths:
        summary = json.loads(Path(path).read_text())
        if not isinstance(summary, dict) or "stages" not in summary or "model" not in summary:
            raise ValueError(f"{path} is not a dimensions summary written by adain dimensions")
        summaries.append(summary)
    return summaries

"""Linear decodability of shape and texture (Hermann, Chen and Kornblith, NeurIPS 2020): how well
a linear classifier reads the *shape* category, and separately the *texture* category, of
cue-conflict images from a frozen model's features, layer by layer.

Per layer: the pooled features (:mod:`.features`) of every cue-conflict stimulus whose shape and
texture categories differ; for each task a multinomial logistic regression (:mod:`.probe`) is
trained on all folds but one and scored on the held-out fold. By default the folds keep each
*exemplar* of the predicted cue together (every image made from ``cat3`` in one fold when predicting
shape; every image in the texture ``elephant1`` when predicting texture), so the probe has to
generalise to shapes (textures) it has not seen rather than recognise an exemplar; ``group="image"``
makes plain stratified folds.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .. import __version__
from ..files.atomic import atomic_write_text
from .categories import CATEGORIES
from .cueconflict import Stimulus, list_stimuli
from .probe import cross_validate, grouped_folds

__all__ = ["exemplars", "decode_layers", "run_decodability", "load_decodability_summaries", "GROUPINGS"]

log = logging.getLogger(__name__)

#: How the cross-validation folds are made: by the exemplar of the predicted cue, or by image.
GROUPINGS = ("exemplar", "image")

_EXEMPLARS = re.compile(r"^(?:.*_)?(?P<shape>[a-z]+\d+)-(?P<texture>[a-z]+\d+)\.[A-Za-z]+$")


def exemplars(name: str) -> tuple[str, str]:
    """``cat3-elephant1.png`` -> ``("cat3", "elephant1")``: the shape image and the texture image a
    stimulus was made from."""
    match = _EXEMPLARS.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a cue-conflict name like 'cat3-elephant1.png'")
    return match["shape"], match["texture"]


def decode_layers(
    features: dict[str, np.ndarray],
    stimuli: Sequence[Stimulus],
    folds: int = 5,
    seed: int = 0,
    l2: float = 1e-3,
    group: str = "exemplar",
) -> list[dict]:
    """Cross-validated shape and texture accuracy of linear probes on each layer's features.

    Args:
        features: layer name -> ``(N, D)`` features, row ``i`` of ``stimuli[i]``.
        stimuli: the images (their shape and texture categories and names).
        folds, seed: the cross-validation (:func:`adain.evaluation.probe.grouped_folds`).
        l2: the probes' L2 penalty (on standardised features).
        group: ``exemplar`` (default) or ``image``.

    Returns:
        Per layer: ``layer``, ``units``, and for ``shape`` and ``texture`` the per-fold
        ``accuracies``, their ``mean`` and ``std``, and ``chance`` (1 / the categories present).
    """
    if group not in GROUPINGS:
        raise ValueError(f"unknown fold grouping {group!r}; use one of {', '.join(GROUPINGS)}")
    index = {name: i for i, name in enumerate(CATEGORIES)}
    tasks = {}
    for task, position in (("shape", 0), ("texture", 1)):
        labels = np.array([index[s.shape if task == "shape" else s.texture] for s in stimuli], dtype=np.int64)
        groups = [exemplars(s.imagename)[position] if group == "exemplar" else s.imagename for s in stimuli]
        tasks[task] = (labels, grouped_folds(groups, labels, folds, seed))
    results = []
    for layer, rows in features.items():
        entry: dict = {"layer": layer, "units": int(rows.shape[1])}
        for task, (labels, fold_of) in tasks.items():
            accuracies = cross_validate(rows.astype(np.float64), labels, fold_of, len(CATEGORIES), l2)
            entry[task] = {
                "accuracies": accuracies,
                "mean": float(np.mean(accuracies)),
                "std": float(np.std(accuracies)),
                "chance": 1.0 / len(set(labels.tolist())),
            }
        results.append(entry)
    return results


def run_decodability(
    name: str,
    arch: str | None,
    weights: str | Path,
    stimuli_dir: str | Path,
    out_json: str | Path,
    out_csv: str | Path | None = None,
    *,
    layers: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
    l2: float = 1e-3,
    group: str = "exemplar",
    same_category: bool = False,
    size: int = 224,
    device: str = "auto",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
) -> dict:
    """Linear decodability of shape and texture from a classifier's layers on a cue-conflict folder.

    Writes ``out_json`` (the summary) and ``out_csv`` (default: beside it; one row per layer, task
    and fold). ``same_category=True`` keeps the stimuli whose shape and texture agree (dropped by
    default: their two labels are one). Returns the summary.
    """
    from ..engine.device import resolve_device
    from ..files.hashing import file_sha256
    from .classifier import load_classifier, resolve_weights
    from .features import FileImages, extract, resolve_layers

    stimuli = [s for s in list_stimuli(stimuli_dir) if same_category or s.shape != s.texture]
    if not stimuli:
        raise ValueError(f"no cue-conflict stimuli of {stimuli_dir} with different shape and texture")
    torch_device = resolve_device(device)
    weights = resolve_weights(arch, weights)
    model = load_classifier(arch, weights, torch_device)
    modules = resolve_layers(model, layers)
    features = extract(
        model,
        FileImages([s.path for s in stimuli], size),
        modules,
        torch_device,
        batch_size,
        workers,
        progress,
        f"decodability {name}",
    )
    results = decode_layers(features, stimuli, folds, seed, l2, group)
    for entry in results:
        entry["module"] = modules[entry["layer"]]
        log.info(
            "%s %s: shape %.3f, texture %.3f", name, entry["layer"], entry["shape"]["mean"], entry["texture"]["mean"]
        )
    summary = {
        "model": name,
        "arch": arch,
        "weights": str(weights),
        "weights_sha256": file_sha256(weights),
        "stimuli": str(stimuli_dir),
        "images": len(stimuli),
        "same_category": same_category,
        "size": size,
        "folds": folds,
        "group": group,
        "seed": seed,
        "l2": l2,
        "layers": results,
        "package_version": __version__,
    }
    out_json = Path(out_json)
    atomic_write_text(out_json, json.dumps(summary, indent=1) + "\n")
    atomic_write_text(Path(out_csv) if out_csv else out_json.with_suffix(".csv"), _table(summary))
    return summary


def _table(summary: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "layer", "module", "units", "task", "fold", "accuracy"])
    for entry in summary["layers"]:
        for task in ("shape", "texture"):
            for fold, accuracy in enumerate(entry[task]["accuracies"]):
                writer.writerow(
                    [summary["model"], entry["layer"], entry.get("module", ""), entry["units"], task, fold, accuracy]
                )
    return out.getvalue()


def load_decodability_summaries(paths: Iterable[str | Path]) -> list[dict]:
    """Read :func:`run_decodability` summaries; anything else is refused."""
    summaries = []
    for path in paths:
        summary = json.loads(Path(path).read_text())
        if not isinstance(summary, dict) or "layers" not in summary or "model" not in summary:
            raise ValueError(f"{path} is not a decodability summary written by adain decodability")
        summaries.append(summary)
    return summaries

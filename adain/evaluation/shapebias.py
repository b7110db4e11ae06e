"""Shape bias on cue-conflict images (Geirhos et al. 2019, Fig. 4 and 5).

Each stimulus has the shape of one category and the texture of another. A classifier's 1000-way
softmax becomes a 16-way decision (:func:`adain.evaluation.categories.to_sixteen`); stimuli whose shape and
texture categories agree are dropped; over the rest,

    shape bias = shape decisions / (shape decisions + texture decisions),

with shape and texture accuracy (the fractions of conflict trials decided by shape, by texture).
Per category means per *shape* category, as the paper's Figure 4 and model-vs-human.

Outputs: model-vs-human raw data (``subj,session,trial,rt,object_response,category,condition,
imagename``, all trials, so their tools read it) and a JSON summary.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .. import __version__
from ..engine.device import resolve_device
from ..files.atomic import atomic_write_text
from ..files.hashing import file_sha256
from .categories import CATEGORIES, to_sixteen
from .classifier import iter_probabilities, load_classifier, resolve_weights
from .cueconflict import Stimulus, list_stimuli
from .topk import TOPK_PRESETS, sparsified, topk_layers

__all__ = [
    "Trial",
    "analyse",
    "decide",
    "evaluate_shape_bias",
    "raw_csv",
    "subject_name",
    "run_shape_bias",
    "load_summaries",
    "summary_table",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trial:
    """One stimulus and the model's 16-way decision."""

    imagename: str
    shape: str
    texture: str
    decision: str


def _counts(trials: Sequence[Trial]) -> dict:
    conflict = [t for t in trials if t.shape != t.texture]
    shape = sum(t.decision == t.shape for t in conflict)
    texture = sum(t.decision == t.texture for t in conflict)
    n = len(conflict)
    return {
        "trials": len(trials),
        "conflict_trials": n,
        "dropped_same_category": len(trials) - n,
        "shape_decisions": shape,
        "texture_decisions": texture,
        "other_decisions": n - shape - texture,
        "shape_bias": shape / (shape + texture) if shape + texture else None,
        "shape_accuracy": shape / n if n else None,
        "texture_accuracy": texture / n if n else None,
    }


def analyse(trials: Sequence[Trial]) -> dict:
    """Shape bias, shape and texture accuracy and the counts behind them, overall and per shape
    category (``per_category``; a category without shape or texture decisions has ``None``)."""
    result = _counts(trials)
    result["per_category"] = {
        category: _counts([t for t in trials if t.shape == category])
        for category in CATEGORIES
        if any(t.shape == category for t in trials)
    }
    return result


def decide(probabilities: torch.Tensor, aggregation: str = "mean") -> list[str]:
    """``(N, 1000)`` probabilities -> the 16-way decision of each row (a category name)."""
    return [CATEGORIES[i] for i in to_sixteen(probabilities, aggregation).argmax(dim=1).tolist()]


def evaluate_shape_bias(
    model: torch.nn.Module,
    stimuli: Sequence[Stimulus],
    device: torch.device | str = "cpu",
    aggregation: str = "mean",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
    desc: str = "shape bias",
) -> tuple[list[Trial], list[tuple[str, str]]]:
    """Decide every stimulus; returns the trials and the ``(path, reason)`` of unreadable files."""
    trials: list[Trial] = []
    skipped: list[tuple[str, str]] = []
    paths = [s.path for s in stimuli]
    with tqdm(total=len(paths), unit="img", desc=desc, disable=not progress) as bar:
        for index, probabilities, reason in iter_probabilities(model, paths, device, batch_size, workers):
            stimulus = stimuli[index]
            if probabilities is None:
                skipped.append((str(stimulus.path), reason))
                log.warning("skipped %s: %s", stimulus.path, reason)
            else:
                decision = decide(probabilities[None], aggregation)[0]
                trials.append(Trial(stimulus.imagename, stimulus.shape, stimulus.texture, decision))
            bar.update(1)
    return trials, skipped


def subject_name(name: str) -> str:
    """A model name as model-vs-human writes it in file names and ``subj`` (no ``_``)."""
    cleaned = re.sub(r"[^A-Za-z0-9.+-]+", "-", name.replace("_", "-")).strip("-")
    if not cleaned:
        raise ValueError(f"model name {name!r} has no usable characters")
    return cleaned


def raw_csv(trials: Iterable[Trial], subject: str, session: int = 1) -> str:
    """model-vs-human raw data of one session: every trial, ``rt`` NaN, ``condition`` 0."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"])
    for number, trial in enumerate(trials, start=1):
        writer.writerow([subject, session, number, "NaN", trial.decision, trial.shape, 0, trial.imagename])
    return out.getvalue()


def run_shape_bias(
    name: str,
    arch: str | None,
    weights: str | Path,
    stimuli_dir: str | Path,
    output_dir: str | Path,
    aggregation: str = "mean",
    topk: Sequence[float] = (),
    topk_at: str | Sequence[str] | None = None,
    device: str = "auto",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
) -> list[dict]:
    """Evaluate one classifier (and, with ``topk``, its Top-K variants) on a cue-conflict folder.

    For each evaluated variant ``S`` (``name``, or ``name-topK-<percent>``) writes
    ``<output_dir>/cue-conflict_S_session-1.csv`` (model-vs-human raw data) and ``<output_dir>/S.json``
    (the summary: :func:`analyse` under ``result``, provenance, skipped files).

    Args:
        topk: fractions in (0, 1] to sweep (e.g. ``[0.05, 0.1, 0.2]``); the plain model is
            evaluated too.
        topk_at: where Top-K acts: a preset (``alexnet``, ``vgg16``) or module names; by default
            the preset of ``arch`` when it has one.

    Returns:
        The summaries, in evaluation order.
    """
    bad = [k for k in topk if not 0 < k <= 1]
    if bad:
        raise ValueError(f"Top-K fractions must be in (0, 1] (0.1 keeps 10 %), got {bad}")
    stimuli = list_stimuli(stimuli_dir)
    torch_device = resolve_device(device)
    weights = resolve_weights(arch, weights)
    model = load_classifier(arch, weights, torch_device)
    variants: list[float | None] = [None] + sorted(set(topk))
    if topk:
        if isinstance(model, torch.jit.ScriptModule):
            raise ValueError("Top-K needs a torchvision architecture with a state_dict, not a TorchScript file")
        topk_at = topk_at or (arch if arch in TOPK_PRESETS else None)
        if not topk_at:
            raise ValueError(f"Top-K needs the layers: a preset ({', '.join(TOPK_PRESETS)}) or module names")
        layers = topk_layers(model, topk_at)
    output = Path(output_dir)
    summaries = []
    weights_sha = file_sha256(weights)
    for fraction in variants:
        subject = subject_name(name if fraction is None else f"{name}-topK-{fraction * 100:g}")
        with nullcontext() if fraction is None else sparsified(model, layers, fraction):
            trials, skipped = evaluate_shape_bias(
                model, stimuli, torch_device, aggregation, batch_size, workers, progress, subject
            )
        if not trials:
            raise ValueError(f"no stimulus of {stimuli_dir} could be read ({len(skipped)} skipped)")
        summary = {
            "model": subject,
            "arch": arch,
            "weights": str(weights),
            "weights_sha256": weights_sha,
            "topk": None if fraction is None else {"fraction": fraction, "layers": layers},
            "aggregation": aggregation,
            "stimuli": str(stimuli_dir),
            "result": analyse(trials),
            "skipped": [{"path": p, "reason": r} for p, r in skipped],
            "package_version": __version__,
        }
        atomic_write_text(output / f"cue-conflict_{subject}_session-1.csv", raw_csv(trials, subject))
        atomic_write_text(output / f"{subject}.json", json.dumps(summary, indent=1) + "\n")
        bias = summary["result"]["shape_bias"]
        log.info(
            "%s: shape bias %s over %d conflict trials",
            subject,
            "n/a" if bias is None else f"{bias:.3f}",
            summary["result"]["conflict_trials"],
        )
        summaries.append(summary)
    return summaries


def load_summaries(paths: Iterable[str | Path]) -> list[dict]:
    """Read :func:`run_shape_bias` summaries (JSON files); anything else is refused."""
    summaries = []
    for path in paths:
        summary = json.loads(Path(path).read_text())
        if not isinstance(summary, dict) or "result" not in summary or "model" not in summary:
            raise ValueError(f"{path} is not a shape-bias summary written by adain shapebias")
        summaries.append(summary)
    return summaries


def summary_table(summaries: Sequence[dict]) -> str:
    """One TSV row per summary: model, shape bias, shape and texture accuracy, conflict trials."""
    from ..files.tsv import format_tsv

    fields = ["shape_bias", "shape_accuracy", "texture_accuracy", "conflict_trials"]
    return format_tsv(["model", *fields], ([s["model"], *(s["result"][f] for f in fields)] for s in summaries))

"""Figures of the representation analyses: shape and texture dimensions per stage (Islam et al.
2021, their per-stage figures) and linear decodability per layer (Hermann et al. 2020)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..files.atomic import atomic_path

__all__ = ["plot_dimensions", "plot_decodability"]


def _save(figure, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "pdf", dpi=150)
    return path


def _stages(summaries: Sequence[dict], key: str, name: str) -> list[str]:
    """Every layer name of the summaries, in first-seen order."""
    seen: list[str] = []
    for summary in summaries:
        for entry in summary[key]:
            if entry[name] not in seen:
                seen.append(entry[name])
    return seen


def plot_dimensions(summaries: Sequence[dict], path: str | Path) -> Path:
    """Shape and texture units per stage as a percentage of the stage's width: for each stage a
    group of bars, two per model (shape filled, texture hatched, in the model's colour), the mean over
    the seeds with their standard deviation as error bars, and the mean unit counts written on them.

    Args:
        summaries: :func:`adain.evaluation.dimensions.run_dimensions` summaries (one per model).
        path: the figure; its suffix picks the format (``.pdf``, ``.png``, ``.svg``).
    """
    from matplotlib.figure import Figure

    if not summaries:
        raise ValueError("no dimension estimates to plot")
    stages = _stages(summaries, "stages", "stage")
    figure = Figure(figsize=(max(6.0, 1.2 * len(stages) * max(1, len(summaries))), 4.5), layout="constrained")
    ax = figure.add_subplot()
    width = 0.8 / (2 * len(summaries))
    top = 0.0
    for m, summary in enumerate(summaries):
        color = f"C{m % 10}"
        by_stage = {entry["stage"]: entry for entry in summary["stages"]}
        for f, (factor, hatch) in enumerate((("shape", None), ("texture", "//"))):
            xs, heights, errors, counts = [], [], [], []
            for s, stage in enumerate(stages):
                if stage not in by_stage:
                    continue
                entry = by_stage[stage]
                xs.append(s - 0.4 + width * (2 * m + f + 0.5))
                heights.append(entry["percent_mean"][f])
                errors.append(entry["percent_std"][f])
                counts.append(entry["dims_mean"][f])
            label = f"{summary['model']} {factor}"
            ax.bar(
                xs,
                heights,
                width,
                yerr=errors,
                color=color,
                hatch=hatch,
                alpha=0.9 if f == 0 else 0.45,
                label=label,
                error_kw={"ecolor": "black", "capsize": 2},
            )
            for x, height, error, count in zip(xs, heights, errors, counts):
                ax.annotate(
                    f"{count:.0f}",
                    (x, height + error),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                    rotation=90,
                )
                top = max(top, height + error)
    ax.set_xticks(range(len(stages)), stages)
    ax.set_ylabel("units (% of the stage)")
    ax.set_xlabel("stage")
    ax.set_ylim(0, min(100.0, top * 1.25 + 5))
    ax.grid(axis="y", color="0.9")
    ax.legend(fontsize="small", ncol=max(1, len(summaries)), frameon=False, loc="upper left")
    ax.set_title("Shape and texture dimensions (mean over seeds; numbers: units)")
    return _save(figure, path)


def plot_decodability(summaries: Sequence[dict], path: str | Path) -> Path:
    """Held-out accuracy of the shape and the texture probes per layer: one colour per model, shape
    solid with circles, texture dashed with squares, the standard deviation over folds as error bars,
    chance dotted.

    Args:
        summaries: :func:`adain.evaluation.decodability.run_decodability` summaries.
        path: the figure; its suffix picks the format.
    """
    from matplotlib.figure import Figure

    if not summaries:
        raise ValueError("no decodability results to plot")
    layers = _stages(summaries, "layers", "layer")
    figure = Figure(figsize=(max(5.5, 1.0 * len(layers) + 2), 4.5), layout="constrained")
    ax = figure.add_subplot()
    chance = set()
    for m, summary in enumerate(summaries):
        color = f"C{m % 10}"
        by_layer = {entry["layer"]: entry for entry in summary["layers"]}
        present = [layer for layer in layers if layer in by_layer]
        xs = [layers.index(layer) for layer in present]
        for t, (task, style, marker) in enumerate((("shape", "-", "o"), ("texture", "--", "s"))):
            shift = 0.06 * (2 * m + t - len(summaries) + 0.5)  # error bars side by side, not on top
            means = [by_layer[layer][task]["mean"] for layer in present]
            stds = [by_layer[layer][task]["std"] for layer in present]
            chance |= {by_layer[layer][task]["chance"] for layer in present}
            ax.errorbar(
                [x + shift for x in xs],
                means,
                yerr=stds,
                color=color,
                linestyle=style,
                marker=marker,
                capsize=3,
                label=f"{summary['model']} {task}",
            )
    for level in sorted(chance):
        ax.axhline(level, color="0.5", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(layers)), layers)
    ax.set_ylim(0, 1)
    ax.set_xlabel("layer")
    ax.set_ylabel("held-out accuracy")
    ax.grid(axis="y", color="0.9")
    ax.legend(fontsize="small", frameon=False)
    ax.set_title("Linear decodability of shape and texture (dotted: chance)")
    return _save(figure, path)

"""The shape-bias figure in the style of Geirhos et al. (2019), Figure 4."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..files.atomic import atomic_path
from .categories import CATEGORIES

__all__ = ["plot_shape_bias"]

_MARKERS = "osD^vP*Xh<>p"


def plot_shape_bias(summaries: Sequence[dict], path: str | Path) -> Path:
    """Fraction of shape decisions per shape category, one marker per model, and each model's
    overall shape bias as a vertical line of its colour (the top axis reads texture decisions).

    Args:
        summaries: :func:`adain.evaluation.shapebias.run_shape_bias` summaries (``model`` and ``result``).
        path: the figure; its suffix picks the format (``.pdf``, ``.png``, ``.svg``).
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    if not summaries:
        raise ValueError("no shape-bias results to plot")
    figure = Figure(figsize=(6.5, 7.5), layout="constrained")
    ax = figure.add_subplot()
    rows = {category: len(CATEGORIES) - 1 - i for i, category in enumerate(CATEGORIES)}
    colors = [f"C{i % 10}" for i in range(len(summaries))]
    for i, (summary, color) in enumerate(zip(summaries, colors)):
        result = summary["result"]
        points = [
            (stats["shape_bias"], rows[category])
            for category, stats in result["per_category"].items()
            if stats["shape_bias"] is not None
        ]
        bias = result["shape_bias"]
        label = summary["model"] + ("" if bias is None else f" ({bias:.2f})")
        xs, ys = zip(*points) if points else ((), ())
        ax.scatter(
            xs,
            ys,
            marker=_MARKERS[i % len(_MARKERS)],
            color=color,
            s=60,
            alpha=0.85,
            edgecolors="black",
            linewidths=0.5,
            clip_on=False,
            label=label if bias is not None else f"{label} (n/a)",
            zorder=3,
        )
        if bias is not None:
            ax.axvline(bias, color=color, linestyle="--", linewidth=1.5, zorder=2)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(CATEGORIES) - 0.5)
    ax.set_yticks(list(rows.values()), list(rows))
    ax.set_xlabel("Fraction of 'shape' decisions")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1 - x, lambda x: 1 - x))
    top.set_xlabel("Fraction of 'texture' decisions")
    ax.grid(axis="y", color="0.9", zorder=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize="small", frameon=False)
    ax.set_title("Shape bias per category (dashed: overall)")
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "pdf", dpi=150)
    return path

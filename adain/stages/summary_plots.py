"""The run's plots for the report: images per class, rejects by reason, speed over the shards."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..files.atomic import atomic_path
from .speed import DONE, FINISHED, STARTED

__all__ = ["plot_run"]


def plot_run(summary: dict, rejects: Sequence[tuple], reports: Sequence[dict], out_png: str | Path) -> None:
    """Three panels in one PNG: images per class (bars for up to 40 classes, else a histogram of
    the classes' counts) per split; rejects by reason (the text before the first colon); each
    shard's stylizing speed at the time it finished, with the run's one figure
    (``summary["images_per_second"]``) as a line. ``rejects``: ``(split, kind, file, reason)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (classes, reasons, speed) = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    per_split = {split: counts["classes"] for split, counts in summary["splits"].items()}
    if max((len(c) for c in per_split.values()), default=0) <= 40:
        names = sorted({wnid for c in per_split.values() for wnid in c})
        width = 0.8 / max(1, len(per_split))
        for i, (split, counts) in enumerate(sorted(per_split.items())):
            classes.bar(
                [x + i * width for x in range(len(names))], [counts.get(n, 0) for n in names], width, label=split
            )
        classes.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        classes.set_ylabel("images")
    else:
        for split, counts in sorted(per_split.items()):
            classes.hist(list(counts.values()), bins=30, alpha=0.6, label=split)
        classes.set_xlabel("images per class")
        classes.set_ylabel("classes")
    classes.set_title("images per class")
    classes.legend(fontsize=8)

    tally = Counter(f"{kind}: {reason.split(':')[0]}" for _, kind, _, reason in rejects).most_common(10)
    if tally:
        reasons.barh([label for label, _ in tally][::-1], [n for _, n in tally][::-1], color="tab:red")
        reasons.tick_params(axis="y", labelsize=7)
    else:
        reasons.text(0.5, 0.5, "no rejects", ha="center", va="center", transform=reasons.transAxes)
    reasons.set_title(f"rejects by reason ({len(rejects)} in all; rejects.tsv)")
    reasons.set_xlabel("files")

    timed = sorted(
        (float(r[FINISHED]), r[DONE] / (float(r[FINISHED]) - float(r[STARTED])))
        for r in reports
        if r.get(STARTED) is not None and r.get(FINISHED) is not None and r.get(DONE) and r[FINISHED] > r[STARTED]
    )
    if timed:
        start = min(float(r[STARTED]) for r in reports if r.get(STARTED) is not None)
        speed.plot([(t - start) / 60 for t, _ in timed], [s for _, s in timed], "o", ms=3, label="each shard's job")
        speed.axhline(summary.get("images_per_second", 0.0), color="tab:green", label="the run (all jobs)")
        speed.legend(fontsize=8)
    else:
        speed.text(0.5, 0.5, "no timings recorded", ha="center", va="center", transform=speed.transAxes)
    speed.set_title("images/s over the run")
    speed.set_xlabel("minutes since the first shard started")
    speed.set_ylabel("images/s")
    with atomic_path(out_png) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)

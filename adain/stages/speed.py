"""The run's one speed figure, computed one way from what its outputs record (never file times).

Each stylize job records when its stylizing started and ended (wall-clock seconds) and how many
images it stylized; the validation report of its shard carries them. The run's speed is the images
stylized over the time during which any stylizing went on (the union of those intervals): with one
job at a time it is a job's speed, with several it counts them together, and pauses between runs
do not count. ``adain status``, ``summary.json``, the dataset card and the line after each shard
all give this figure, so a copied output folder (``cp -r``, a pulled bucket) gives the same one.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["stylize_speed", "STARTED", "FINISHED", "DONE"]

#: Keys of a validation report (and attributes of a staging shard).
STARTED, FINISHED, DONE = "stylize_started_at", "stylize_finished_at", "stylized_this_run"


def stylize_speed(reports: Iterable[dict]) -> float:
    """Images per second over the union of the reports' stylizing intervals (0.0: none recorded)."""
    spans = sorted(
        (float(r[STARTED]), float(r[FINISHED]), int(r.get(DONE, 0)))
        for r in reports
        if r.get(STARTED) is not None and r.get(FINISHED) is not None and float(r[FINISHED]) > float(r[STARTED])
    )
    images = sum(done for _, _, done in spans)
    busy, reach = 0.0, float("-inf")
    for start, end, _ in spans:
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return images / busy if busy > 0 and images else 0.0

"""The run's one speed figure, computed one way from what its outputs record (never file times).

Each stylize job records when its stylizing started and ended (wall-clock seconds) and how many
images it stylized; the validation report of its shard carries them. The run's speed is the images
stylized over the time during which any stylizing went on (the union of those intervals): with one
job at a time it is a job's speed, with several it counts them together, and pauses between runs
do not count. ``adain status``, ``summary.json``, the dataset card and the line after each shard
all give this figure, so a copied output folder (``cp -r``, a pulled bucket) gives the same one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "stylize_speed",
    "STARTED",
    "FINISHED",
    "DONE",
    "RECORD_KEYS",
    "RECORD_SUFFIX",
    "record_path",
    "write_record",
    "read_record",
]

#: Keys of a validation report (and of a stylize job's record).
STARTED, FINISHED, DONE = "stylize_started_at", "stylize_finished_at", "stylized_this_run"
#: What a stylize job records of itself (when, how many, how long, how much work): beside its
#: staging shard, never inside, so that a shard's bytes are those of its contents alone.
RECORD_KEYS = ("stylize_seconds", DONE, "stylize_gflop", STARTED, FINISHED)


#: The record's name: the staging shard's, and this.
RECORD_SUFFIX = ".run.json"


def record_path(staging_h5: str | Path) -> Path:
    """The stylize job's record of ``staging_h5``: ``<staging>.h5.run.json`` beside it."""
    staging_h5 = Path(staging_h5)
    return staging_h5.with_name(staging_h5.name + RECORD_SUFFIX)


def write_record(staging_h5: str | Path, record: dict) -> None:
    """Write the job's record (atomically) before its staging shard appears."""
    from ..files.atomic import atomic_write_text

    atomic_write_text(record_path(staging_h5), json.dumps({k: record.get(k) for k in RECORD_KEYS}, sort_keys=True))


def read_record(staging_h5: str | Path, attrs: dict | None = None) -> dict:
    """The job's record of ``staging_h5``; a staging shard made before records were kept beside
    it holds them as attributes (``attrs``); neither: an empty record."""
    try:
        return json.loads(record_path(staging_h5).read_text())
    except (OSError, ValueError):
        return {k: attrs[k] for k in RECORD_KEYS if k in (attrs or {})}


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

"""Where a run stands: shards done, in progress, stale and still to do, speed and ETA.

Read from the output folder alone (the manifest's plan, final and staging shards, checkpoint
parts, the stale folder), so it works while a run goes on, after it was killed, and from another
machine. ``adain status OUTPUT_DIR`` prints it; each finished stylize job prints
:func:`progress_line`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files.tsv import iter_tsv
from ..shards.checkpoint import parts_folder, rows_checkpointed
from ..stages.speed import stylize_speed
from .paths import RunPaths
from .stale import CLEAN_COMMAND, StaleUsage, stale_usage

__all__ = ["RunStatus", "run_status", "format_status", "progress_line", "run_end_lines"]


@dataclass
class RunStatus:
    """Counts of one output folder (``planned`` is 0 before the manifests exist)."""

    output_dir: str
    planned_shards: int = 0
    planned_images: int = 0
    done_shards: int = 0
    done_images: int = 0
    staged_shards: int = 0  # stylized, waiting for validation and packing
    in_progress: dict[str, int] = field(default_factory=dict)  # shard -> images done (checkpoints)
    stale_files: int = 0
    stale_bytes: int = 0
    images_per_second: float = 0.0
    eta_seconds: float | None = None
    summary: bool = False

    @property
    def todo_shards(self) -> int:
        return self.planned_shards - self.done_shards - self.staged_shards - len(self.in_progress)


def _reports(paths: RunPaths) -> list[dict]:
    """The validation reports present (what the run's speed is computed from)."""
    import json

    reports = []
    for path in paths.reports_dir.glob("*/*.json") if paths.reports_dir.is_dir() else ():
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports


def run_status(output_dir: str | Path, just_finished: dict | None = None) -> RunStatus:
    """The state of ``output_dir``; ``just_finished``: a stylize job's own record (its
    :data:`adain.stages.speed.STARTED`, ``FINISHED`` and ``DONE``), counted before its shard's
    validation report exists."""
    out, paths = Path(output_dir), RunPaths(output_dir)
    status = RunStatus(str(out), summary=paths.summary_json.is_file())
    listing = paths.shards_tsv
    remaining = 0
    if listing.is_file():
        for row in iter_tsv(listing):
            split, shard, images = row["split"], row["shard"], int(row["images"])
            status.planned_shards += 1
            status.planned_images += images
            final, staged = paths.shard(split, shard), paths.staged(split, shard)
            if final.exists():
                status.done_shards += 1
                status.done_images += images
            elif staged.exists():
                status.staged_shards += 1
                status.done_images += images
            else:
                try:
                    done = rows_checkpointed(parts_folder(staged))
                except OSError:  # the job finished and cleared its parts meanwhile
                    done = 0
                if done:
                    status.in_progress[f"{split}/{shard}"] = done
                remaining += images - done
    usage = stale_usage(out)
    status.stale_files, status.stale_bytes = usage.files, usage.bytes
    status.images_per_second = stylize_speed([*_reports(paths), *([just_finished] if just_finished else [])])
    if status.planned_shards:
        status.eta_seconds = remaining / status.images_per_second if status.images_per_second else None
    return status


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def format_status(status: RunStatus) -> str:
    """A few lines for a person."""
    if not status.planned_shards:
        return f"{status.output_dir}: no plan yet (the manifests are made after the index and the paintings)"
    lines = [
        f"{status.output_dir}: {status.done_shards} of {status.planned_shards} shards done "
        f"({status.done_images} of {status.planned_images} images), {status.staged_shards} waiting for packing, "
        f"{len(status.in_progress)} in progress, {max(0, status.todo_shards)} to do",
    ]
    lines += [
        f"  in progress {shard}: {images} images checkpointed" for shard, images in sorted(status.in_progress.items())
    ]
    if status.stale_files:
        lines.append(
            f"  stale: {StaleUsage(status.stale_files, status.stale_bytes)} moved out of the dataset (see "
            f"stale/stale.tsv); `{CLEAN_COMMAND} {status.output_dir}` removes them"
        )
    lines.append(
        f"  speed: {status.images_per_second:.1f} images/s (the run's, from its shards' records); "
        f"ETA {_duration(status.eta_seconds) if status.todo_shards or status.in_progress else '0:00:00'}"
    )
    if status.summary and status.done_shards == status.planned_shards:
        lines.append("  finished: summary.json written")
    return "\n".join(lines)


def _tflops(result: dict) -> str:
    return f", {result['tflops']:.3f} TFLOP/s" if result.get("tflops") else ""


def progress_line(output_dir: str | Path, shard: Path, result: dict) -> str:
    """One line after a stylize job: the shard, its images and time, the run's progress, speed
    (the one figure of :mod:`adain.stages.speed`, as in ``adain status`` and ``summary.json``) and ETA."""
    status = run_status(output_dir, just_finished=result)
    name = f"{shard.parent.name}/{shard.stem}"
    return (
        f"adain: stylized {name}: {result['images']} images in {result['seconds']:.1f} s{_tflops(result)} | "
        f"{status.done_shards + status.staged_shards} of {status.planned_shards} shards, {status.done_images} of "
        f"{status.planned_images} images, {status.images_per_second:.1f} images/s | "
        f"ETA {_duration(status.eta_seconds)} [{time.strftime('%H:%M:%S')}]"
    )


def run_end_lines(output_dir: str | Path, shown: int = 5) -> list[str]:
    """What a finished run says last on the console: what it packed, what it rejected and why,
    the index's notes (empty class folders, missing splits, ...) and what ``stale/`` holds."""
    import json
    from collections import Counter

    paths = RunPaths(output_dir)
    try:
        summary = json.loads(paths.summary_json.read_text())
    except (OSError, ValueError):
        return []
    splits = summary.get("splits", {})
    lines = [
        f"{output_dir}: "
        + ", ".join(f"{split} {c['packed']} of {c.get('samples', c['indexed'])} images" for split, c in splits.items())
        + f", {summary.get('images_per_second', 0.0):.1f} images/s"
    ]
    rejects = list(iter_tsv(paths.rejects_tsv)) if paths.rejects_tsv.is_file() else []
    if rejects:
        reasons = Counter(row["reason"].split(":")[0] for row in rejects)
        top = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common(shown))
        lines.append(f"  rejected {len(rejects)} file(s): {top} (every one with its reason: {paths.rejects_tsv})")
    notes = summary.get("notes") or []
    if notes:
        lines.append(f"  {len(notes)} note(s) from indexing (all in {paths.index_notes}):")
        lines += [f"    {note}" for note in notes[:shown]] + (["    ..."] if len(notes) > shown else [])
    usage = stale_usage(output_dir)
    if usage.files:
        lines.append(f"  stale/ holds {usage}: `{CLEAN_COMMAND} {output_dir}` removes it")
    return lines

"""Where a run stands: shards done, in progress, stale and still to do, speed and ETA.

Read from the output folder alone (the manifest's plan, final and staging shards, checkpoint
parts, the stale folder), so it works while a run goes on, after it was killed, and from another
machine. ``adain status OUTPUT_DIR`` prints it; each finished stylize job prints
:func:`progress_line`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..files.tsv import iter_tsv
from ..shards.checkpoint import parts_folder, rows_checkpointed
from ..stages.counts import RANDOM_STANDIN_WARNING, STANDIN_HINT, RunCounts, method_verb, plural
from ..stages.speed import stylize_speed
from .counts import folder_records, run_counts
from .paths import RunPaths
from .stale import CLEAN_COMMAND, StaleUsage, stale_usage

__all__ = ["RunStatus", "run_status", "format_status", "progress_line", "run_end_lines", "report_command"]


@dataclass
class RunStatus:
    """Counts of one output folder (``planned`` is 0 before the manifests exist).

    ``planned_images`` and ``done_images`` count the manifests' content images (samples), done when
    stylized or rejected: the run's progress. ``images``, ``content_rejects`` and
    ``painting_rejects`` are the run's counts so far (:class:`adain.stages.counts.RunCounts`), as
    ``summary.json`` will say them."""

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
    method: str = "adain"
    images: int = 0
    content_rejects: int = 0
    painting_rejects: int | None = None
    random_standin_weights: bool = False

    @property
    def todo_shards(self) -> int:
        return self.planned_shards - self.done_shards - self.staged_shards - len(self.in_progress)

    @property
    def counts(self) -> RunCounts:
        return RunCounts(self.images, self.content_rejects, self.painting_rejects, self.method)


def _reports(paths: RunPaths) -> dict[tuple[str, str], dict]:
    """The validation reports present, by ``(split, shard)`` (what the run's speed and counts are
    computed from)."""
    import json

    reports = {}
    for path in paths.reports_dir.glob("*/*.json") if paths.reports_dir.is_dir() else ():
        try:
            reports[(path.parent.name, path.stem)] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return reports


def _shard_counts(path: Path) -> tuple[int, int, bool]:
    """``(images, rejected, random stand-in weights)`` a shard file records (zeros if it does not
    open, e.g. while its job still writes it)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            rejected = len(handle["rejected_content"]) if "rejected_content" in handle else 0
            return len(handle["labels"]), rejected, bool(handle.attrs.get("random_standin_weights", False))
    except (OSError, KeyError, ValueError):
        return 0, 0, False


def _planned_method(paths: RunPaths) -> str | None:
    """The method the run's plan records (``manifest/identity.json``), if any."""
    import json

    try:
        return json.loads(paths.identity_json.read_text()).get("method")
    except (OSError, ValueError, AttributeError):
        return None


def run_status(output_dir: str | Path, just_finished: dict | None = None, shard: Path | None = None) -> RunStatus:
    """The state of ``output_dir``; ``just_finished``: a stylize job's own record (its
    :data:`adain.stages.speed.STARTED`, ``FINISHED`` and ``DONE``, images and rejects) for its
    staging ``shard``, counted before that shard's validation report exists."""
    out, paths = Path(output_dir), RunPaths(output_dir)
    status = RunStatus(str(out), summary=paths.summary_json.is_file())
    records = folder_records(out)
    reports = _reports(paths)
    listing = paths.shards_tsv
    remaining = images = rejected = 0
    standin, probe = records.random_standin_weights, None  # one shard says whether the weights were stand-ins
    if listing.is_file():
        for row in iter_tsv(listing):
            split, name, planned = row["split"], row["shard"], int(row["images"])
            status.planned_shards += 1
            status.planned_images += planned
            final, staged = paths.shard(split, name), paths.staged(split, name)
            if final.exists() or staged.exists():
                if final.exists():
                    status.done_shards += 1
                else:
                    status.staged_shards += 1
                status.done_images += planned
                report = reports.get((split, name))
                if report is not None:
                    images, rejected = images + report["images"], rejected + len(report["rejected"])
                elif just_finished is not None and shard is not None and staged == shard:
                    images, rejected = images + just_finished["images"], rejected + just_finished["rejected"]
                else:
                    found = _shard_counts(final if final.exists() else staged)
                    images, rejected, standin = images + found[0], rejected + found[1], standin or found[2]
                probe = probe or (final if final.exists() else staged)
            else:
                try:
                    done = rows_checkpointed(parts_folder(staged))
                except OSError:  # the job finished and cleared its parts meanwhile
                    done = 0
                if done:
                    status.in_progress[f"{split}/{name}"] = done
                remaining += planned - done
    counts = run_counts(images, rejected, records, _planned_method(paths))
    status.method, status.images, status.content_rejects = counts.method, counts.images, counts.content_rejects
    status.painting_rejects = counts.painting_rejects
    status.random_standin_weights = standin or (probe is not None and _shard_counts(probe)[2])
    usage = stale_usage(out)
    status.stale_files, status.stale_bytes = usage.files, usage.bytes
    status.images_per_second = stylize_speed([*reports.values(), *([just_finished] if just_finished else [])])
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
        f"{status.output_dir}: {status.done_shards} of {status.planned_shards} shards done, "
        f"{status.staged_shards} waiting for packing, {len(status.in_progress)} in progress, "
        f"{max(0, status.todo_shards)} to do",
        f"  {status.counts.phrase()} ({status.done_images} of {status.planned_images} content images done)",
    ]
    if status.random_standin_weights:
        lines.append(f"  WARNING: {RANDOM_STANDIN_WARNING} ({STANDIN_HINT})")
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
    """One line after a stylize job: the shard, its images, rejects and time, the run's progress
    in shards and content images, speed (the one figure of :mod:`adain.stages.speed`, as in
    ``adain status`` and ``summary.json``) and ETA."""
    status = run_status(output_dir, just_finished=result, shard=shard)
    name = f"{shard.parent.name}/{shard.stem}"
    rejected = f" ({plural(result['rejected'], 'content reject')})" if result.get("rejected") else ""
    standin = " | random stand-in weights" if status.random_standin_weights else ""
    return (
        f"adain: {method_verb(status.method)} {name}: {plural(result['images'], 'image')}{rejected} in "
        f"{result['seconds']:.1f} s{_tflops(result)} | {status.done_shards + status.staged_shards} of "
        f"{status.planned_shards} shards, {status.done_images} of {status.planned_images} content images done, "
        f"{status.images_per_second:.1f} images/s | ETA {_duration(status.eta_seconds)} "
        f"[{time.strftime('%H:%M:%S')}]{standin}"
    )


def report_command(argv: Sequence[str] | None = None) -> str:
    """The command that bundles a run's outputs into one page: the run's own command line (its
    ``--config``, ``--configfile``, ``-s`` and ``--directory`` select the same outputs) with
    ``--report report.html``."""
    import shlex

    options = list(sys.argv if argv is None else argv)[1:]
    if "--report" in options:  # already a report's command line
        at = options.index("--report")
        del options[at : at + 2]
    return shlex.join(["snakemake", *options, "--report", "report.html"])


def run_end_lines(output_dir: str | Path, shown: int = 5, report: str | None = None) -> list[str]:
    """What a finished run says last on the console: its counts (as every report says them), what
    it rejected and why, whether its weights were stand-ins, the index's notes (empty class
    folders, missing splits, ...), what ``stale/`` holds, and where to look: the sample grid, the
    plots, the dataset card and the ``report`` command (:func:`report_command`)."""
    import json

    paths = RunPaths(output_dir)
    try:
        summary = json.loads(paths.summary_json.read_text())
    except (OSError, ValueError):
        return []
    counts = RunCounts.from_summary(summary)
    splits = ", ".join(f"{split} {c['packed']}" for split, c in summary.get("splits", {}).items())
    lines = [f"{output_dir}: {counts.phrase()} ({splits}); {summary.get('images_per_second', 0.0):.1f} images/s"]
    for kind, reasons in (summary.get("rejects_by_reason") or {}).items():
        if reasons:
            top = "; ".join(f"{n} {reason}" for reason, n in list(reasons.items())[:shown])
            lines.append(f"  {kind} rejects: {top} (every one with its reason: {paths.rejects_tsv})")
    if summary.get("warning"):
        lines.append(f"  WARNING: {summary['warning']} ({STANDIN_HINT})")
    notes = summary.get("notes") or []
    if notes:
        lines.append(f"  {len(notes)} note(s) from indexing (all in {paths.index_notes}):")
        lines += [f"    {note}" for note in notes[:shown]] + (["    ..."] if len(notes) > shown else [])
    usage = stale_usage(output_dir)
    if usage.files:
        lines.append(f"  stale/ holds {usage}: `{CLEAN_COMMAND} {output_dir}` removes it")
    lines += [
        "look at:",
        f"  the sample grid  {paths.sample_grid} (content | painting | stylized)",
        f"  the plots        {paths.summary_plots} (images per class, rejects, speed)",
        f"  the dataset card {paths.card}",
        f"  all in one page  {report or report_command()}",
    ]
    return lines

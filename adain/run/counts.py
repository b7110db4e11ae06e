"""A run folder's counts from its own records, for ``adain status``, ``adain inspect`` and
``adain verify`` (:class:`adain.stages.counts.RunCounts`): the shards give the images and the
content rejects they list; the index's ``rejected.tsv`` the content files it could not use; the
painting lists the painting rejects. The same records ``summarize`` counts, so all agree with
``summary.json`` once it is written, and say the same while a run goes on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..files.tsv import iter_tsv, read_meta
from ..stages.counts import RunCounts, reason_kind
from .paths import RunPaths

__all__ = ["FolderRecords", "folder_records", "run_counts"]


@dataclass(frozen=True)
class FolderRecords:
    """What a run folder records besides its shards (all zero for a folder that is not a run's)."""

    method: str | None = None  # None: unknown (no summary.json, index or painting list)
    styles_per_image: int = 1
    index_rejects: int = 0  # content files the index could not use (each K rejected samples)
    painting_rejects: int | None = None  # None: no painting list (not a run folder, or not AdaIN)
    painting_reasons: tuple[tuple[str, int], ...] = ()
    random_standin_weights: bool = False


def _rows(path: Path) -> list[dict]:
    try:
        return list(iter_tsv(path)) if path.is_file() else []
    except (OSError, ValueError):
        return []


def _summary(paths: RunPaths) -> dict:
    try:
        return json.loads(paths.summary_json.read_text()) if paths.summary_json.is_file() else {}
    except (OSError, ValueError):
        return {}


def folder_records(output_dir: str | Path) -> FolderRecords:
    """The counts a run folder's records hold (see the module docstring)."""
    from collections import Counter

    paths = RunPaths(output_dir)
    summary = _summary(paths)
    manifest = (read_meta(paths.shards_tsv) or {}).get("settings") or {}
    styles = int(manifest.get("styles_per_image") or summary.get("styles_per_image") or 1)
    painting_lists = [paths.paintings_rejected_prepare, paths.paintings_rejected_decode]
    has_paintings = paths.paintings_accepted.is_file() or any(p.is_file() for p in painting_lists)
    method = summary.get("method") or ("adain" if has_paintings else None)
    reasons: Counter = Counter()
    for path in painting_lists if has_paintings else ():
        reasons.update(reason_kind(row.get("reason", "")) for row in _rows(path))
    return FolderRecords(
        method=method,
        styles_per_image=styles,
        index_rejects=len(_rows(paths.index_rejected)),
        painting_rejects=sum(reasons.values()) if has_paintings else None,
        painting_reasons=tuple(reasons.most_common()),
        random_standin_weights=bool(summary.get("random_standin_weights") or summary.get("warning")),
    )


def run_counts(images: int, shard_rejects: int, records: FolderRecords, method: str | None = None) -> RunCounts:
    """The run's counts: ``images`` and ``shard_rejects`` (rejected samples the shards list) from
    the shards, the rest from ``records``."""
    method = method or records.method or "adain"
    content = shard_rejects + records.index_rejects * records.styles_per_image
    return RunCounts(images, content, records.painting_rejects if method == "adain" else None, method)

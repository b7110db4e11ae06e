"""The end of a run: counts per split and class, all rejects, speed, and a sample grid."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
from PIL import Image

from ..engine.images import Preprocess, open_rgb
from ..files.atomic import atomic_path, atomic_write_text
from ..files.imagefiles import image_grid
from ..files.tsv import read_tsv, write_tsv
from ..shards.format import read_shard
from .counts import RANDOM_STANDIN_WARNING, RunCounts, reason_kind
from .fingerprints import recorded_stylization
from .index_images import iter_index, read_index_rejects
from .settings import RunSettings
from .speed import stylize_speed

__all__ = ["summarize", "SummaryInputs", "SummaryOutputs", "sample_grid", "RANDOM_STANDIN_WARNING", "FingerprintError"]


class FingerprintError(RuntimeError):
    """Shards of one dataset disagree in fingerprint (the message names them)."""


def shard_record(path: Path, output_dir: Path | None) -> dict:
    """What the dataset's listing (``summary.json``'s ``shards``) says of one final shard."""
    with h5py.File(path, "r") as handle:
        attrs = handle.attrs
        record = {
            "file": os.path.relpath(path, output_dir) if output_dir else str(path),
            "split": str(attrs.get("split", path.parent.name)),
            "images": int(len(handle["labels"])),
            "fingerprint": str(attrs.get("fingerprint", "")),
            "stylization_fingerprint": recorded_stylization(attrs),
            "pack_fingerprint": str(attrs.get("pack_fingerprint", "")),
            "random_standin_weights": bool(attrs.get("random_standin_weights", False)),
        }
    record["bytes"] = path.stat().st_size
    return record


def check_fingerprints(records: Sequence[dict], expected: dict[str, str] | None = None) -> None:
    """Every shard must have its planned fingerprint, and all one stylization fingerprint.

    Raises:
        FingerprintError: naming the shards that disagree.
    """
    problems = []
    if expected is not None:
        problems += [
            f"{r['file']}: fingerprint {r['fingerprint'] or 'missing'}, planned {expected[r['file']]}"
            for r in records
            if expected.get(r["file"]) not in (None, r["fingerprint"])
        ]
    groups: dict[str, list[str]] = {}
    for r in records:
        groups.setdefault(r["stylization_fingerprint"] or "missing", []).append(r["file"])
    if len(groups) > 1:
        problems += [
            f"stylization fingerprint {fp[:16]}: {', '.join(files[:5])}{' ...' if len(files) > 5 else ''}"
            for fp, files in sorted(groups.items())
        ]
    if problems:
        raise FingerprintError(
            "the shards do not form one dataset (made with other inputs, weights or settings):\n  - "
            + "\n  - ".join(problems)
        )


def sample_grid(
    shards: Sequence[str | Path],
    out_png: str | Path,
    content_dir: str | Path | None = None,
    content_recipe: Preprocess | None = None,
    count: int = 8,
    cell: int = 224,
    banner: str | None = None,
    style_dir: str | Path | None = None,
    painting_recipe: Preprocess | None = None,
    per_row: int = 2,
) -> int:
    """A grid of up to ``count`` samples (first of each shard, then the next), ``per_row`` to a
    row, each as content | painting | stylized: the content and the painting as the preset
    preprocessed them, and the stored image, all fitted to ``cell`` pixels (a 64x64 result is
    drawn as large as its content), captioned with the class (WNID), the painting (and ``k``
    with several styles per image) and the stored size. A content or painting not found under
    ``content_dir``/``style_dir`` (or without one) leaves its cell blank, captioned so.
    ``banner`` is written across the top (e.g. :data:`RANDOM_STANDIN_WARNING`). Returns how many
    samples."""
    samples, captions = [], []
    datas = [read_shard(s) for s in shards]
    for position in range(count):
        for data in datas:
            if len(samples) < count and position < len(data):
                content, k = data.samples()[position]
                painting = data.style[position]
                source = Path(content_dir) / content if content_dir is not None else None
                image = (content_recipe or Preprocess())(open_rgb(source)) if source and source.is_file() else None
                style = Path(style_dir) / painting if style_dir is not None and painting else None
                styled = (painting_recipe or Preprocess())(open_rgb(style)) if style and style.is_file() else None
                stored = Image.fromarray(data.pixels(position))
                samples.append([image, styled, stored])
                captions.append(
                    [
                        data.wnid[position] if image is not None else "content not found",
                        (painting + (f" k={k}" if k else "")) if painting else "(no painting)",
                        f"{stored.width}x{stored.height}",
                    ]
                )
    rows = [sum(samples[i : i + per_row], []) for i in range(0, len(samples), per_row)]
    captions = [sum(captions[i : i + per_row], []) for i in range(0, len(captions), per_row)]
    grid = image_grid(rows, cell, captions, banner)
    with atomic_path(out_png) as tmp:
        grid.save(tmp, format="PNG")
    return len(samples)


@dataclass(frozen=True)
class SummaryInputs:
    """What the summary reads: the index, its rejects and notes, the painting rejects, and each
    packed shard with its validation report (``reports[i]`` is ``shards[i]``'s)."""

    images_tsv: str | Path
    reports: Sequence[str | Path]
    shards: Sequence[str | Path]
    painting_rejects: Sequence[str | Path] = ()
    index_rejects_tsv: str | Path | None = None
    notes: Sequence[str] = ()
    painting_stats: str | Path | None = None  # the run's stats.h5 (its usable paintings); None: no paintings


def _paintings_used(stats_h5: str | Path | None, shard_size: int) -> dict:
    """``paintings``: how many paintings the draws chose from, and what so few of them does."""
    if stats_h5 is None:
        return {}
    from .paintings import PaintingStats, painting_warnings

    count = len(PaintingStats(stats_h5).names)
    return {"paintings": count, "painting_warnings": painting_warnings(count, shard_size)}


@dataclass(frozen=True)
class SummaryOutputs:
    summary_json: str | Path
    rejects_tsv: str | Path
    grid_png: str | Path
    card_md: str | Path | None = None  # the dataset card (:func:`adain.stages.dataset_card.dataset_card`)
    plots_png: str | Path | None = None  # :func:`adain.stages.summary_plots.plot_run`
    # the report's pages (adain.stages.report_pages): its landing text, the card and the rejects as HTML
    overview_rst: str | Path | None = None
    card_html: str | Path | None = None
    rejects_html: str | Path | None = None


@dataclass
class _Tally:
    """Counts per split (samples), over the validation reports and the index's rejects."""

    indexed: Counter = field(default_factory=Counter)
    packed: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    per_class: dict = field(default_factory=dict)
    rejects: list = field(default_factory=list)
    seconds: float = 0.0
    gflop: float = 0.0
    reports: list = field(default_factory=list)

    def add_report(self, report: dict, split: str, wnid_of_label: dict[int, str]) -> None:
        self.packed[split] += report["images"]
        for label, n in report["labels"].items():
            self.per_class.setdefault(split, Counter())[wnid_of_label[int(label)]] += n
        self.rejects += [(split, "content", c, reason) for c, reason in report["rejected"].items()]
        self.rejected[split] += len(report["rejected"])
        self.seconds += report["stylize_seconds"]
        self.reports.append(report)
        self.gflop += report.get("stylize_gflop", 0.0)

    def check(self, styles_per_image: int) -> None:
        for split in self.indexed:
            if self.indexed[split] * styles_per_image != self.packed[split] + self.rejected[split]:
                raise RuntimeError(
                    f"split {split}: {self.indexed[split]} indexed x {styles_per_image} style(s) != "
                    f"{self.packed[split]} packed + {self.rejected[split]} rejected"
                )


def _tally(inputs: SummaryInputs, styles_per_image: int) -> _Tally:
    tally, wnid_of_label = _Tally(), {}
    for record in iter_index(inputs.images_tsv):  # streamed: memory flat in the number of images
        tally.indexed[record.split] += 1
        wnid_of_label[record.label] = record.wnid
    for report_path, shard in zip(inputs.reports, inputs.shards):
        tally.add_report(json.loads(Path(report_path).read_text()), Path(shard).parent.name, wnid_of_label)
    if inputs.index_rejects_tsv is not None and Path(inputs.index_rejects_tsv).is_file():
        for split, content, reason in read_index_rejects(inputs.index_rejects_tsv):
            tally.indexed[split] += 1
            tally.rejected[split] += styles_per_image
            tally.rejects.append((split, "content", content, reason))
    for path in inputs.painting_rejects:
        tally.rejects += [("-", "painting", row["painting"], row["reason"]) for row in read_tsv(path)]
    return tally


def summarize(
    inputs: SummaryInputs,
    outputs: SummaryOutputs,
    settings: RunSettings,
    expected: dict[str, str] | None = None,
) -> dict:
    """Write the run's summary, the list of every reject, a sample grid and the dataset card.

    The summary lists the dataset's shards (``shards``: file relative to ``settings.output_dir``,
    split, images, fingerprints, bytes): readers read exactly these. Files the index could not use
    (names that are not UTF-8) count as indexed and rejected. With K styles per image, each split's
    ``samples`` = K x ``indexed`` must equal ``packed + rejected`` (a file the index could not use
    counts K rejected samples).

    Args:
        expected: shard file (relative to ``output_dir``) -> the fingerprint the run planned.

    Raises:
        RuntimeError: the counts do not add up (K x indexed != packed + rejected).
        FingerprintError: the shards disagree in fingerprint.
    """
    output_dir = Path(settings.output_dir)
    styles_per_image = settings.manifest.styles_per_image
    records = [shard_record(Path(s), output_dir) for s in inputs.shards]
    check_fingerprints(records, expected)
    tally = _tally(inputs, styles_per_image)
    write_tsv(outputs.rejects_tsv, ["split", "kind", "file", "reason"], sorted(tally.rejects))
    tally.check(styles_per_image)
    content_dir = settings.index.content_dir
    method = settings.stylize.method
    standin = any(r["random_standin_weights"] for r in records)
    counts = RunCounts(
        sum(tally.packed.values()),
        sum(tally.rejected.values()),
        sum(1 for r in tally.rejects if r[1] == "painting") if method == "adain" else None,
        method,
    )
    summary = {
        "preset": settings.stylize.preset,
        "method": method,
        "random_standin_weights": standin,
        # the run's three counts, as every report says them (adain.stages.counts)
        "counts": counts.as_dict(),
        "rejects_by_reason": _rejects_by_reason(tally.rejects),
        "splits": {
            split: {
                "indexed": tally.indexed[split],
                "samples": tally.indexed[split] * styles_per_image,
                "packed": tally.packed[split],
                "rejected": tally.rejected[split],
                "classes": dict(sorted(tally.per_class.get(split, {}).items())),
            }
            for split in sorted(tally.indexed)
        },
        "styles_per_image": styles_per_image,
        "paintings_rejected": sum(1 for r in tally.rejects if r[1] == "painting"),
        **_paintings_used(inputs.painting_stats, settings.manifest.shard_size),
        "shards": len(inputs.shards),
        "stylize_seconds": round(tally.seconds, 3),
        "images_per_second": round(stylize_speed(tally.reports), 2),  # the run's (adain.stages.speed)
        # exact FLOPs of the stylized images (adain.core.flops) over the stylize time: the model's work rate
        "tflops": round(tally.gflop / tally.seconds / 1e3, 4) if tally.seconds else 0.0,
        "notes": list(inputs.notes),
        "content_dir": None if content_dir is None else str(Path(content_dir).resolve()),  # for the grids
        "style_dir": str(Path(settings.paintings.style_dir).resolve()) if settings.stylize.method == "adain" else None,
        # how the images were made (the shards' identity); the seed and the shards are not in it
        "stylization_fingerprint": records[0]["stylization_fingerprint"] if records else None,
        "shard_files": [
            {k: v for k, v in r.items() if k not in ("stylization_fingerprint", "random_standin_weights")}
            for r in records
        ],
    }
    if standin:
        summary = {"warning": RANDOM_STANDIN_WARNING, **summary}
    atomic_write_text(outputs.summary_json, json.dumps(summary, indent=1))
    if outputs.card_md is not None:
        _write_card(outputs.card_md, summary, inputs.shards, settings)
    preset = settings.stylize.get_preset()
    banner = RANDOM_STANDIN_WARNING if standin else None
    style_dir = settings.paintings.style_dir if settings.stylize.method == "adain" else None
    sample_grid(
        inputs.shards[:4],
        outputs.grid_png,
        content_dir,
        preset.content,
        banner=banner,
        style_dir=style_dir,
        painting_recipe=preset.painting,
    )
    if outputs.plots_png is not None:
        from .summary_plots import plot_run

        plot_run(summary, tally.rejects, tally.reports, outputs.plots_png)
    _write_report_pages(outputs, summary, tally.rejects, counts)
    return summary


def _write_report_pages(outputs: SummaryOutputs, summary: dict, rejects: Sequence[tuple], counts: RunCounts) -> None:
    """The report's landing text, the card and the rejects as pages (those of ``outputs`` that are set)."""
    from . import report_pages

    if outputs.card_html is not None and outputs.card_md is not None:
        atomic_write_text(outputs.card_html, report_pages.card_page(Path(outputs.card_md).read_text()))
    if outputs.rejects_html is not None:
        atomic_write_text(outputs.rejects_html, report_pages.rejects_page(rejects, counts, str(outputs.rejects_tsv)))
    if outputs.overview_rst is not None:
        files = {
            Path(outputs.grid_png).name: "the sample grid: each sample as content | painting | stylized",
            **(
                {Path(outputs.plots_png).name: "images per class, rejects by reason, speed"}
                if outputs.plots_png
                else {}
            ),
            **({Path(outputs.card_html).name: "the dataset card (README.md)"} if outputs.card_html else {}),
            **({Path(outputs.rejects_html).name: "every reject and its reason"} if outputs.rejects_html else {}),
            Path(outputs.summary_json).name: "the counts per split and class, rejects and speed, as JSON",
        }
        output_dir = str(Path(outputs.summary_json).parent)
        text = report_pages.overview_rst(summary, output_dir, report_pages.grid_data_uri(outputs.grid_png), files)
        atomic_write_text(outputs.overview_rst, text)


def _rejects_by_reason(rejects: Sequence[tuple]) -> dict[str, dict[str, int]]:
    """``{"content": {reason: count}, "painting": {...}}`` of ``(split, kind, file, reason)`` rows,
    the reasons without their details (``too small``, not ``too small: 180x140``), most first."""
    kinds: dict[str, Counter] = {"content": Counter(), "painting": Counter()}
    for _, kind, _, reason in rejects:
        kinds.setdefault(kind, Counter())[reason_kind(reason)] += 1
    return {kind: dict(found.most_common()) for kind, found in kinds.items()}


def _write_card(card_md: str | Path, summary: dict, shards: Sequence[str | Path], settings: RunSettings) -> None:
    from .dataset_card import dataset_card

    identity = {}
    if shards:
        with h5py.File(shards[0], "r") as handle:
            identity = json.loads(handle.attrs.get("identity", "{}"))
    atomic_write_text(card_md, dataset_card(summary, identity, settings))

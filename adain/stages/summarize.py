"""The end of a run: counts per split and class, all rejects, speed, and a sample grid."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import h5py
from PIL import Image

from ..engine.images import Preprocess, open_rgb
from ..files.atomic import atomic_path, atomic_write_text
from ..files.imagefiles import image_grid
from ..files.tsv import read_tsv, write_tsv
from ..shards.format import read_shard
from .index_images import iter_index, read_index_rejects

__all__ = ["summarize", "sample_grid", "RANDOM_STANDIN_WARNING", "FingerprintError"]

#: Said by every output made with :func:`adain.core.weights.write_random_weights`'s weights.
RANDOM_STANDIN_WARNING = "random stand-in weights — not a real dataset"


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
            "dataset_fingerprint": str(attrs.get("dataset_fingerprint", "")),
            "pack_fingerprint": str(attrs.get("pack_fingerprint", "")),
            "random_standin_weights": bool(attrs.get("random_standin_weights", False)),
        }
    record["bytes"] = path.stat().st_size
    return record


def check_fingerprints(records: Sequence[dict], expected: dict[str, str] | None = None) -> None:
    """Every shard must have its planned fingerprint, and all one dataset fingerprint.

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
        groups.setdefault(r["dataset_fingerprint"] or "missing", []).append(r["file"])
    if len(groups) > 1:
        problems += [
            f"dataset fingerprint {fp[:16]}: {', '.join(files[:5])}{' ...' if len(files) > 5 else ''}"
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
    cell: int = 160,
    banner: str | None = None,
) -> int:
    """A grid of up to ``count`` samples (first of each shard, then the next), one per row: the
    content as preprocessed beside the stored image, captioned with the class (WNID) and the
    painting (and ``k`` with several styles per image). A content not found under
    ``content_dir`` (or without one) leaves its cell blank, captioned so. ``banner`` is written
    across the top (e.g. :data:`RANDOM_STANDIN_WARNING`). Returns how many samples."""
    rows, captions = [], []
    datas = [read_shard(s) for s in shards]
    for position in range(count):
        for data in datas:
            if len(rows) < count and position < len(data):
                content, k = data.samples()[position]
                source = Path(content_dir) / content if content_dir is not None else None
                image = (content_recipe or Preprocess())(open_rgb(source)) if source and source.is_file() else None
                rows.append([image, Image.fromarray(data.pixels(position))])
                painting = data.style[position] or "(no painting)"
                captions.append(
                    [
                        data.wnid[position] if image is not None else "content not found",
                        painting + (f" k={k}" if k else ""),
                    ]
                )
    grid = image_grid(rows, cell, captions, banner)
    with atomic_path(out_png) as tmp:
        grid.save(tmp, format="PNG")
    return len(rows)


def summarize(
    images_tsv: str | Path,
    painting_rejects: Sequence[str | Path],
    reports: Sequence[str | Path],
    shards: Sequence[str | Path],
    summary_json: str | Path,
    rejects_tsv: str | Path,
    grid_png: str | Path,
    content_dir: str | Path | None = None,
    content_recipe: Preprocess | None = None,
    notes: Sequence[str] = (),
    index_rejects_tsv: str | Path | None = None,
    expected: dict[str, str] | None = None,
    output_dir: str | Path | None = None,
    card_md: str | Path | None = None,
    config: dict | None = None,
    styles_per_image: int = 1,
) -> dict:
    """Write the run's summary, the list of every reject and a sample grid.

    The summary lists the dataset's shards (``shards``: file relative to ``output_dir``, split,
    images, fingerprints, bytes): readers read exactly these. Files the index could not use (names
    that are not UTF-8) count as indexed and rejected.

    Args:
        expected: shard file (relative to ``output_dir``) -> the fingerprint the run planned.
        card_md: where to write the dataset card (:func:`adain.stages.dataset_card.dataset_card`), with ``config``.
        styles_per_image: samples per image (K): each split's ``samples`` = K x ``indexed`` must
            equal ``packed + rejected`` (a file the index could not use counts K rejected samples).

    Raises:
        RuntimeError: the counts do not add up (K x indexed != packed + rejected).
        FingerprintError: the shards disagree in fingerprint.
    """
    output_dir = Path(output_dir) if output_dir else None
    records = [shard_record(Path(s), output_dir) for s in shards]
    check_fingerprints(records, expected)
    indexed: Counter = Counter()
    wnid_of_label: dict[int, str] = {}
    for record in iter_index(images_tsv):  # streamed: memory flat in the number of images
        indexed[record.split] += 1
        wnid_of_label[record.label] = record.wnid
    packed: Counter = Counter()
    per_class: dict[str, Counter] = {}
    rejects = []
    rejected: Counter = Counter()  # samples
    seconds = images = gflop = 0.0
    for report_path, shard in zip(reports, shards):
        report = json.loads(Path(report_path).read_text())
        split = Path(shard).parent.name
        packed[split] += report["images"]
        for label, n in report["labels"].items():
            per_class.setdefault(split, Counter())[wnid_of_label[int(label)]] += n
        rejects += [(split, "content", c, reason) for c, reason in report["rejected"].items()]
        rejected[split] += len(report["rejected"])
        seconds += report["stylize_seconds"]
        images += report["images_per_second"] * report["stylize_seconds"]
        gflop += report.get("stylize_gflop", 0.0)
    if index_rejects_tsv is not None and Path(index_rejects_tsv).is_file():
        for split, content, reason in read_index_rejects(index_rejects_tsv):
            indexed[split] += 1
            rejected[split] += styles_per_image
            rejects.append((split, "content", content, reason))
    for path in painting_rejects:
        rejects += [("-", "painting", row["painting"], row["reason"]) for row in read_tsv(path)]
    write_tsv(rejects_tsv, ["split", "kind", "file", "reason"], sorted(rejects))
    for split in indexed:
        if indexed[split] * styles_per_image != packed[split] + rejected[split]:
            raise RuntimeError(
                f"split {split}: {indexed[split]} indexed x {styles_per_image} style(s) != {packed[split]} packed + "
                f"{rejected[split]} rejected"
            )
    summary = {
        "splits": {
            split: {
                "indexed": indexed[split],
                "samples": indexed[split] * styles_per_image,
                "packed": packed[split],
                "rejected": rejected[split],
                "classes": dict(sorted(per_class.get(split, {}).items())),
            }
            for split in sorted(indexed)
        },
        "styles_per_image": styles_per_image,
        "paintings_rejected": sum(1 for r in rejects if r[1] == "painting"),
        "shards": len(shards),
        "stylize_seconds": round(seconds, 3),
        "images_per_second": round(images / seconds, 2) if seconds else 0.0,
        # exact FLOPs of the stylized images (adain.core.flops) over the stylize time: the model's work rate
        "tflops": round(gflop / seconds / 1e3, 4) if seconds else 0.0,
        "notes": list(notes),
        "content_dir": None if content_dir is None else str(Path(content_dir).resolve()),  # for the grids
        "dataset_fingerprint": records[0]["dataset_fingerprint"] if records else None,
        "shard_files": [
            {k: v for k, v in r.items() if k not in ("dataset_fingerprint", "random_standin_weights")} for r in records
        ],
    }
    standin = any(r["random_standin_weights"] for r in records)
    if standin:
        summary = {"warning": RANDOM_STANDIN_WARNING, **summary}
    atomic_write_text(summary_json, json.dumps(summary, indent=1))
    if card_md is not None:
        from .dataset_card import dataset_card

        identity = {}
        if shards:
            with h5py.File(shards[0], "r") as handle:
                identity = json.loads(handle.attrs.get("identity", "{}"))
        atomic_write_text(card_md, dataset_card(summary, identity, config or {}))
    sample_grid(shards[:4], grid_png, content_dir, content_recipe, banner=RANDOM_STANDIN_WARNING if standin else None)
    return summary

"""Validation of a stylized shard against its manifest, before it is packed.

Every manifest row must appear exactly once, as an image or as a reject with a reason, in
manifest order, with the manifest's label, WNID and painting; the label must agree with the
class folder in the content path; every image must have the preset's shape (``full``: decode to
the content's own size) and the bytes the stylize job wrote (their CRC-32s): the one read of the
pixels between the stylize job and the final shard.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from ..files.atomic import atomic_write_text
from ..shards.format import ShardData, ShardError, StoredRows, decode_image, read_shard, row_checksums
from .assign_styles import read_manifest, sample_key
from .speed import DONE, FINISHED, STARTED, read_record

__all__ = ["ValidationError", "check_shard", "validate_shard", "report_from_final_shard"]


class ValidationError(Exception):
    """A shard disagrees with its manifest; the message lists every problem."""


def check_shard(data: ShardData, manifest: list, size: int | None, content_dir: Path | None = None) -> list[str]:
    """The problems of ``data`` against ``manifest`` rows (empty when the shard is sound). A row is
    a sample ``(content, k)``: with ``styles_per_image`` > 1 an image appears K times."""
    problems = []
    expected = {(row.content, row.k): row for row in manifest}
    stored = data.samples()
    counts = Counter(stored)
    duplicated = sorted(sample_key(*s) for s, n in counts.items() if n > 1)
    if duplicated:
        problems.append(f"duplicated images: {duplicated[:5]}")
    rejected = set(data.rejected_samples())
    if len(data.rejected_content) != len(data.rejected_reason):
        problems.append("rejects and reasons differ in number")
    missing = [sample_key(*s) for s in expected if s not in counts and s not in rejected]
    if missing:
        problems.append(f"missing images (neither stored nor rejected): {missing[:5]}")
    unknown = sorted(sample_key(*s) for s in (set(counts) | rejected) - set(expected))
    if unknown:
        problems.append(f"images not in the manifest: {unknown[:5]}")
    both = sorted(sample_key(*s) for s in set(counts) & rejected)
    if both:
        problems.append(f"images both stored and rejected: {both[:5]}")
    if len(data) + len(data.rejected_content) != len(manifest):
        problems.append(
            f"count mismatch: {len(data)} images + {len(data.rejected_content)} rejects != {len(manifest)} in the manifest"
        )
    order = [(row.content, row.k) for row in manifest if (row.content, row.k) in counts]
    if not duplicated and not unknown and stored != order:
        problems.append("images are not in manifest order")
    for i, (content, k) in enumerate(stored):
        row = expected.get((content, k))
        if row is None:
            continue
        name = sample_key(content, k)
        if int(data.labels[i]) != row.label or data.wnid[i] != row.wnid:
            problems.append(
                f"{name}: label {int(data.labels[i])}/{data.wnid[i]} but the manifest says {row.label}/{row.wnid}"
            )
        parts = content.split("/")  # <split>/<class folder>/[sub-folders/]<file>, or <split>/<file> (flat)
        if len(parts) >= 3 and parts[1] != data.wnid[i]:
            problems.append(f"{name}: WNID {data.wnid[i]} disagrees with the class folder {parts[1]}")
        if data.style[i] != row.style:
            problems.append(f"{name}: painting {data.style[i]} but the manifest says {row.style}")
    problems += _check_pixels(data, size, content_dir)
    return problems


def _check_pixels(data: ShardData, size: int | None, content_dir: Path | None) -> list[str]:
    problems = _check_checksums(data)
    if data.codec == "raw":
        shape = np.shape(data.images)
        if size is not None and len(data) and tuple(shape[1:]) != (size, size, 3):
            problems.append(f"wrong image shape {tuple(shape[1:])}, expected {(size, size, 3)}")
        if shape[0] != len(data):
            problems.append(f"{shape[0]} images for {len(data)} labels")
        return problems
    if len(data.images) != len(data) or data.shapes is None or len(data.shapes) != len(data):
        return [
            f"{len(data.images)} encoded images and {0 if data.shapes is None else len(data.shapes)} shapes for {len(data)} labels"
        ]
    for i, content in enumerate(data.content):
        try:
            pixels = decode_image(data.images[i])
        except Exception as error:  # noqa: BLE001 - report, don't crash
            problems.append(f"{content}: stored image does not decode ({type(error).__name__})")
            continue
        if pixels.shape != tuple(data.shapes[i]):
            problems.append(f"{content}: decoded shape {pixels.shape} != recorded {tuple(data.shapes[i])}")
        if content_dir is not None and (content_dir / content).is_file():
            with Image.open(content_dir / content) as source:
                if pixels.shape[:2] != (source.height, source.width):
                    problems.append(
                        f"{content}: stored {pixels.shape[1]}x{pixels.shape[0]}, content is {source.width}x{source.height}"
                    )
    return problems


def _check_checksums(data: ShardData) -> list[str]:
    """Every stored image's bytes against the CRC-32 the stylize job computed as it wrote them
    (a staging shard made before these were recorded has none: nothing to compare)."""
    if data.checksums is None:
        return []
    if len(data.checksums) != len(data.images):
        return [f"{len(data.checksums)} checksums for {len(data.images)} images"]
    found = data.images.checksums() if isinstance(data.images, StoredRows) else row_checksums(data.images, data.codec)
    damaged = [data.content[i] for i in np.flatnonzero(found != np.asarray(data.checksums, dtype=np.uint32))]
    if damaged:
        return [f"{len(damaged)} image(s) differ from what the stylize job wrote (CRC-32): {damaged[:5]}"]
    return []


def validate_shard(
    shard_h5: str | Path,
    manifest_tsv: str | Path,
    report_json: str | Path,
    size: int | None,
    content_dir: str | Path | None = None,
    expected_fingerprint: str | None = None,
) -> dict:
    """Check ``shard_h5`` against ``manifest_tsv`` and, when given, the fingerprint the run planned
    for it (:mod:`adain.stages.fingerprints`); write ``report_json`` (recording the fingerprint) only if it
    is sound.

    Raises:
        ValidationError: listing every problem, naming the shard.
    """
    try:
        data = read_shard(shard_h5, pixels=False)  # fixed sizes: the pixels are read once, for their CRC-32s
    except ShardError as error:
        raise ValidationError(str(error)) from None
    manifest = read_manifest(manifest_tsv)
    problems = check_shard(data, manifest, size, Path(content_dir) if content_dir else None)
    fingerprint = data.attrs.get("fingerprint")
    if expected_fingerprint is not None and fingerprint != expected_fingerprint:
        problems.append(
            f"fingerprint {fingerprint} differs from the run's plan {expected_fingerprint} "
            "(made with other inputs, weights or settings)"
        )
    if problems:
        raise ValidationError(f"{shard_h5} failed validation against {manifest_tsv}:\n  - " + "\n  - ".join(problems))
    record = read_record(shard_h5, data.attrs)
    seconds = float(record.get("stylize_seconds") or 0.0)
    done = int(record.get(DONE) or 0)
    report = {
        "shard": str(shard_h5),
        "fingerprint": fingerprint,
        "manifest": len(manifest),
        "images": len(data),
        "rejected": {sample_key(*s): reason for s, reason in zip(data.rejected_samples(), data.rejected_reason)},
        "labels": dict(Counter(map(int, data.labels))),
        "stylize_seconds": seconds,
        "images_per_second": done / seconds if seconds else 0.0,  # this job's own
        "stylize_gflop": float(record.get("stylize_gflop") or 0.0),
        DONE: done,
        STARTED: _float_or_none(record.get(STARTED)),
        FINISHED: _float_or_none(record.get(FINISHED)),
    }
    atomic_write_text(report_json, json.dumps(report, indent=1, sort_keys=True))
    return report


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


def report_from_final_shard(shard_h5: str | Path, report_json: str | Path) -> dict:
    """Write the validation report of a final (already validated and packed) shard again, from its
    own datasets (labels, rejects) and attributes, without reading its images; timing is unknown (0)."""
    import h5py

    with h5py.File(shard_h5, "r") as handle:
        labels = handle["labels"][()]
        rejected = [c.decode() for c in handle["rejected_content"][()]]
        ks = handle["rejected_k"][()].tolist() if "rejected_k" in handle else [0] * len(rejected)
        rejected = [sample_key(c, k) for c, k in zip(rejected, ks)]
        reasons = [r.decode() for r in handle["rejected_reason"][()]]
        fingerprint = handle.attrs.get("fingerprint")
        manifest = int(handle.attrs.get("manifest_count", len(labels) + len(rejected)))
    report = {
        "shard": str(shard_h5),
        "fingerprint": None if fingerprint is None else str(fingerprint),
        "manifest": manifest,
        "images": len(labels),
        "rejected": dict(zip(rejected, reasons)),
        "labels": dict(Counter(map(int, labels))),
        "stylize_seconds": 0.0,
        "images_per_second": 0.0,
        "stylize_gflop": 0.0,
    }
    atomic_write_text(report_json, json.dumps(report, indent=1, sort_keys=True))
    return report

"""Packing a validated shard into its final HDF5 file (compression, provenance attributes): in
place where nothing but attributes changes, else rewritten."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py

from ..shards.format import read_shard, row_checksums, write_shard
from .fingerprints import pack_fingerprint

__all__ = ["pack_shard", "unpack_for_repacking", "RUN_ONLY_ATTRS"]

#: Attributes of a staging shard that describe one run, not the data: dropped when packing so
#: that the same inputs give the same final file.
RUN_ONLY_ATTRS = ("stylize_seconds", "stylized_this_run", "stylize_gflop", "stylize_started_at", "stylize_finished_at")


def pack_shard(
    staging_h5: str | Path,
    report_json: str | Path,
    out_h5: str | Path,
    compression: str | None = None,
    chunk_images: int = 1,
) -> str:
    """Make the validated ``staging_h5`` the final shard ``out_h5``, marked validated, with a
    CRC-32 per image (``checksums``) and the packing identity (``pack_fingerprint``).

    Uncompressed fixed-size shards whose file holds nothing but them (no rejects made the stylize
    job copy its images) are packed **in place**: their attributes are rewritten and the file is
    renamed, so the pixels, written once by the stylize job and read once by the validation, are
    neither read nor written again. Anything else (compression, encoded images, a staging file with
    free space) is rewritten, atomically.

    Returns:
        ``"in place"`` or ``"rewritten"``.

    Raises:
        ValueError: the validation report does not belong to this shard.
    """
    report = json.loads(Path(report_json).read_text())
    if not compression and _packs_in_place(staging_h5):
        _pack_in_place(staging_h5, report, report_json, out_h5, chunk_images)
        return "in place"
    data = read_shard(staging_h5)
    _check_report(report, report_json, staging_h5, len(data), len(data.rejected_content), data.attrs)
    data.attrs = {k: v for k, v in data.attrs.items() if k not in RUN_ONLY_ATTRS and k != "codec"}
    data.attrs["validated"] = True
    data.attrs["pack_fingerprint"] = pack_fingerprint(compression, chunk_images)
    if data.checksums is None:  # a staging shard made before the job recorded them
        data.checksums = row_checksums(data.images, data.codec)
    write_shard(out_h5, data, compression=compression, chunk_images=chunk_images)
    return "rewritten"


def _check_report(report: dict, report_json, staging_h5, images: int, rejected: int, attrs) -> None:
    if report["images"] != images or report["manifest"] != images + rejected:
        raise ValueError(f"{report_json} does not describe {staging_h5}: validate the shard again")
    if report.get("fingerprint") != attrs.get("fingerprint"):
        raise ValueError(f"{report_json} validated another version of {staging_h5}: validate the shard again")


#: A staging file may hold this much besides its datasets (HDF5's headers, heaps, alignment) and
#: still be packed in place; a file that copied its images on close holds a second copy.
_SLACK_BYTES = 1 << 16


def _packs_in_place(staging_h5: str | Path) -> bool:
    """An uncompressed raw shard with its checksums and no free space in the file."""
    with h5py.File(staging_h5, "r") as handle:
        if str(handle.attrs.get("codec", "raw")) != "raw" or "checksums" not in handle:
            return False
        datasets = []
        handle.visititems(lambda _, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
        if any(d.compression for d in datasets):
            return False
        stored = sum(d.id.get_storage_size() for d in datasets)
    slack = os.path.getsize(staging_h5) - stored
    return slack <= max(_SLACK_BYTES, stored // 50)


def _pack_in_place(staging_h5, report: dict, report_json, out_h5, chunk_images: int) -> None:
    """The final attributes written into ``staging_h5``, made durable, then the file renamed to
    ``out_h5`` (a kill before the rename leaves a staging file that packs again the same way)."""
    with h5py.File(staging_h5, "r+") as handle:
        rejected = len(handle["rejected_content"])
        _check_report(report, report_json, staging_h5, len(handle["labels"]), rejected, handle.attrs)
        for key in RUN_ONLY_ATTRS:
            if key in handle.attrs:
                del handle.attrs[key]
        handle.attrs["validated"] = True
        handle.attrs["pack_fingerprint"] = pack_fingerprint(None, chunk_images)
    with open(staging_h5, "rb+") as handle:
        os.fsync(handle.fileno())
    Path(out_h5).parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging_h5, out_h5)


def unpack_for_repacking(final_h5: str | Path, report_json: str | Path, staging_h5: str | Path) -> None:
    """Move a final shard back to ``staging_h5`` to be packed again (packing settings changed),
    with the stylize record its validation report kept (:data:`RUN_ONLY_ATTRS`: when and how fast
    it was stylized), so that the run's speed figure still counts it; the report goes (the shard
    is validated again)."""
    import h5py

    report_json = Path(report_json)
    try:
        report = json.loads(report_json.read_text())
    except (OSError, ValueError):
        report = {}
    Path(staging_h5).parent.mkdir(parents=True, exist_ok=True)
    os.replace(final_h5, staging_h5)
    record = {k: report[k] for k in RUN_ONLY_ATTRS if report.get(k) is not None}
    if record:
        with h5py.File(staging_h5, "r+") as handle:
            for key, value in record.items():
                handle.attrs[key] = value
    report_json.unlink(missing_ok=True)

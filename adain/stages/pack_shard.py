"""Packing a validated shard into its final HDF5 file (compression, provenance attributes): in
place where nothing but attributes changes, else rewritten."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py

from ..files.atomic import atomic_path
from ..shards.format import ShardWriter, read_shard, row_checksums, write_shard
from .fingerprints import pack_fingerprint
from .speed import RECORD_KEYS, record_path, write_record

__all__ = ["pack_shard", "unpack_for_repacking", "RUN_ONLY_ATTRS"]

#: Attributes that described one run in staging shards made before the run's record was kept
#: beside them (:func:`adain.stages.speed.write_record`): dropped when packing.
RUN_ONLY_ATTRS = RECORD_KEYS


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
    job copy its images) are packed **in place**: two attributes are added and the file is renamed,
    so the pixels, written once by the stylize job and read once by the validation, are neither
    read nor written again. Anything else (compression, encoded images, a staging file with free
    space) is rewritten, atomically; an uncompressed fixed-size shard is then written the way a
    stylize job writes it, so that its final file has the same bytes whichever way it came (a
    clean run, a repack after a compression change and back, a shard made again).

    Returns:
        ``"in place"`` or ``"rewritten"``.

    Raises:
        ValueError: the validation report does not belong to this shard.
    """
    report = json.loads(Path(report_json).read_text())
    if not compression and _packs_in_place(staging_h5):
        _pack_in_place(staging_h5, report, report_json, out_h5, chunk_images)
        how = "in place"
    else:
        data = read_shard(staging_h5)
        _check_report(report, report_json, staging_h5, len(data), len(data.rejected_content), data.attrs)
        data.attrs = {k: v for k, v in data.attrs.items() if k not in (*RUN_ONLY_ATTRS, *_PACKING_ATTRS, "codec")}
        if data.checksums is None:  # a staging shard made before the job recorded them
            data.checksums = row_checksums(data.images, data.codec)
        if not compression and data.codec == "raw":
            _write_like_a_job(out_h5, data, chunk_images)
        else:
            data.attrs.update(validated=True, pack_fingerprint=pack_fingerprint(compression, chunk_images))
            write_shard(out_h5, data, compression=compression, chunk_images=chunk_images)
        how = "rewritten"
    record_path(staging_h5).unlink(missing_ok=True)  # the job's record lives on in the validation report
    return how


#: What packing adds to a shard.
_PACKING_ATTRS = ("validated", "pack_fingerprint")


def _write_like_a_job(out_h5: str | Path, data, chunk_images: int) -> None:
    """``data`` (uncompressed fixed-size images) as a stylize job writes its staging shard
    (:class:`adain.shards.format.ShardWriter`), then marked packed, under ``out_h5`` atomically."""
    with atomic_path(out_h5) as tmp:
        work = tmp.with_name(tmp.name + "-work")
        try:
            writer = ShardWriter(tmp, work, "raw", tuple(data.images.shape[1:]), rows=len(data))
            writer.append(data.images)
            writer.close(data)
        finally:
            work.unlink(missing_ok=True)
        _mark_packed(tmp, chunk_images)


def _mark_packed(path: str | Path, chunk_images: int) -> None:
    """The final attributes (``validated``, ``pack_fingerprint``), written into ``path`` and made
    durable; a job's timing attributes of an older staging shard go."""
    with h5py.File(path, "r+") as handle:
        for key in RUN_ONLY_ATTRS:
            if key in handle.attrs:
                del handle.attrs[key]
        handle.attrs["validated"] = True
        handle.attrs["pack_fingerprint"] = pack_fingerprint(None, chunk_images)
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


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
    with h5py.File(staging_h5, "r") as handle:
        rejected = len(handle["rejected_content"])
        _check_report(report, report_json, staging_h5, len(handle["labels"]), rejected, dict(handle.attrs))
    _mark_packed(staging_h5, chunk_images)
    Path(out_h5).parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging_h5, out_h5)


def unpack_for_repacking(final_h5: str | Path, report_json: str | Path, staging_h5: str | Path) -> None:
    """Move a final shard back to ``staging_h5`` to be packed again (packing settings changed),
    with the stylize job's record its validation report kept (when and how fast it was stylized,
    :func:`adain.stages.speed.write_record`), so that the run's speed figure still counts it; the
    report goes (the shard is validated again)."""
    report_json = Path(report_json)
    try:
        report = json.loads(report_json.read_text())
    except (OSError, ValueError):
        report = {}
    Path(staging_h5).parent.mkdir(parents=True, exist_ok=True)
    if any(report.get(k) is not None for k in RECORD_KEYS):
        write_record(staging_h5, report)
    os.replace(final_h5, staging_h5)
    report_json.unlink(missing_ok=True)

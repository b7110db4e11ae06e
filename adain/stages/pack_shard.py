"""Packing a validated shard into its final HDF5 file (compression, provenance attributes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
) -> None:
    """Rewrite the validated ``staging_h5`` as ``out_h5`` (atomically), marking it validated, with
    a CRC-32 per image (``checksums``) and the packing identity (``pack_fingerprint``).

    Raises:
        ValueError: the validation report does not belong to this shard.
    """
    report = json.loads(Path(report_json).read_text())
    data = read_shard(staging_h5)
    if report["images"] != len(data) or report["manifest"] != len(data) + len(data.rejected_content):
        raise ValueError(f"{report_json} does not describe {staging_h5}: validate the shard again")
    if report.get("fingerprint") != data.attrs.get("fingerprint"):
        raise ValueError(f"{report_json} validated another version of {staging_h5}: validate the shard again")
    data.attrs = {k: v for k, v in data.attrs.items() if k not in RUN_ONLY_ATTRS and k != "codec"}
    data.attrs["validated"] = True
    data.attrs["pack_fingerprint"] = pack_fingerprint(compression, chunk_images)
    data.checksums = row_checksums(data.images, data.codec)
    write_shard(out_h5, data, compression=compression, chunk_images=chunk_images)


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

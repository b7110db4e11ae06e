"""Fingerprints: what decides the bytes of an output, recorded in the output itself.

Every expensive output of a run carries the fingerprint of exactly what decides its bytes, and
every run compares them (:mod:`adain.run.reconcile`), so that whether an output is current never rests
on Snakemake's metadata or on file times:

* the index and the painting list: their settings and a *tree signature* (the modification times
  of the split, class and painting folders, which change when a file is added, removed or
  renamed); their rows record each file's size and modification time;
* painting statistics: the rows of the painting list they cover, the VGG weights, the recipe;
* a stylized shard: its manifest rows (content paths, sizes, modification times, labels,
  paintings), the painting statistics' digest, the weights' sha256, and the pixel-deciding
  settings (:func:`shard_identity`);
* a packed shard, in addition: the packing settings (:func:`pack_fingerprint`), a second, cheap
  identity: changing them repacks, never restylizes.

Locations and speed settings (``output_dir``, ``cache_dir``, ``workers``, checkpoint intervals)
are never part of a fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "digest",
    "file_identity",
    "tree_signature",
    "shard_identity",
    "stylization_fingerprint",
    "dataset_fingerprint",
    "recorded_stylization",
    "STYLIZATION_ATTRS",
    "shard_fingerprint",
    "pack_fingerprint",
    "numerics",
]


def digest(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def file_identity(path: str | Path | None) -> list | None:
    """``[size, mtime_ns]`` of an optional input file (labels files), ``None`` when not set."""
    if not path:
        return None
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def tree_signature(root: str | Path, folders: Iterable[str] = ("",), depth: int | None = None) -> str:
    """Digest of the modification times of ``root/<folder>`` and of the folders below it (down
    to ``depth`` levels; ``None``: all).

    A folder's modification time changes whenever an entry is added, removed or renamed in it,
    so the signature changes with the set of files of a tree (not with a file edited in place:
    delete ``index/`` to force a new listing after such an edit). Cheap: one ``stat`` per folder.
    """
    root = Path(root)
    entries: list = []
    seen: set[tuple[int, int]] = set()

    def visit(path: Path, level: int) -> None:
        try:
            stat = os.stat(path)  # follows a symlinked folder, as the index does
            entries.append([os.path.relpath(path, root), stat.st_mtime_ns])
            if (stat.st_dev, stat.st_ino) in seen or (depth is not None and level >= depth):
                return
            seen.add((stat.st_dev, stat.st_ino))
            children = sorted(e.name for e in os.scandir(path) if _is_dir(e))
        except OSError:
            entries.append([os.path.relpath(path, root), None])
            return
        for name in children:
            visit(path / name, level + 1)

    for folder in folders:
        top = root / folder if folder else root
        if top.is_dir():
            visit(top, 0)
        else:
            entries.append([folder, None])
    return digest(entries)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symlink loop
        return False


def numerics(
    device_type: str, cpu_threads: int, batch_size: int, channels_last: bool = True, compiled: bool = False
) -> dict:
    """The numerics that change pixels. On the CPU, convolution sums depend on the thread count
    (not on the batch size: measured equal for batches of 1, 3 and 8). On CUDA, TF32 is off, cuDNN
    chooses its algorithms deterministically (:func:`adain.engine.device.exact_numerics`) but by
    shape, so the batch size counts. The memory format and ``torch.compile`` choose other kernels
    on both. The device's model and the library versions are not settings: they are recorded
    beside (:func:`adain.engine.device.cuda_environment`)."""
    if device_type == "cpu":
        found = {"device": "cpu", "threads": int(cpu_threads)}
    else:
        found = {"device": device_type, "tf32": False, "cudnn": "deterministic", "batch_size": int(batch_size)}
    return {**found, "channels_last": bool(channels_last), "compile": bool(compiled)}


def shard_identity(
    preset: dict,
    method: str,
    method_params: dict,
    alpha: float,
    dtype: str,
    codec: str,
    jpeg_quality: int,
    max_pixels: int | tuple[int, int],
    device_numerics: dict,
    weights_sha256: dict | None,
    stats_digest: str | None,
    decode: str = "exact",
    preserve_color: bool = False,
) -> dict:
    """Everything but the manifest rows that decides the bytes of a stylized shard.

    Args:
        preset: :meth:`adain.engine.presets.Preset.describe`.
        codec: ``raw`` for fixed-size presets, else ``png`` / ``jpeg`` (``jpeg_quality`` counts only
            for ``jpeg``).
        weights_sha256: ``{"vgg": ..., "decoder": ...}`` for AdaIN, ``None`` for the filters.
        stats_digest: the painting statistics' digest (``stats.h5`` attribute ``digest``), AdaIN only.
        max_pixels: the guards that decide rejects: ``(max_pixels, max_preprocessed_pixels)``.
        decode: the content decode path, ``fast`` or ``exact`` (:data:`adain.engine.image_dataset.DECODE_PATHS`).
        preserve_color: AdaIN with the content's colours (recorded only when set, so the
            identities of shards made before the option stay as they were).
    """
    adain = method == "adain"
    identity = {
        "preset": preset,
        "method": method,
        "method_params": {} if adain else dict(method_params),
        "alpha": float(alpha) if adain else None,
        "dtype": dtype,
        "codec": codec,
        "jpeg_quality": int(jpeg_quality) if codec == "jpeg" else None,
        "max_pixels": [int(v) for v in max_pixels] if isinstance(max_pixels, (tuple, list)) else int(max_pixels),
        "numerics": device_numerics,
        "weights_sha256": dict(weights_sha256) if adain and weights_sha256 else None,
        "stats_digest": stats_digest if adain else None,
        "decode": decode,
    }
    if adain and preserve_color:
        identity["preserve_color"] = True
    return identity


#: The shard attribute holding :func:`stylization_fingerprint`, and its name in shards made before
#: it was named for what it covers (the same value): readers take either (:func:`recorded_stylization`).
STYLIZATION_ATTRS = ("stylization_fingerprint", "dataset_fingerprint")


def stylization_fingerprint(identity: dict) -> str:
    """What every shard of one run shares: how its images were made (the shard identity: method,
    preset, weights, painting statistics, numerics, codec), not which images and paintings (the
    manifests: seed, shard size, order, styles per image). Two runs that differ only in ``seed``
    share it; their shards' ``fingerprint`` differ. Called ``dataset_fingerprint`` in older shards (docs/resume.md)."""
    return digest(identity)


#: Its older name (the same function), for the imports that use it.
dataset_fingerprint = stylization_fingerprint


def recorded_stylization(attrs) -> str:
    """A shard's stylization fingerprint from its attributes, under either name ("" if none)."""
    for key in STYLIZATION_ATTRS:
        value = attrs.get(key)
        if value:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


def shard_fingerprint(stylization: str, manifest_digest: str) -> str:
    """One shard's fingerprint: its stylization fingerprint and the sha256 of its manifest file."""
    return digest([stylization, manifest_digest])


def pack_fingerprint(compression: str | None, chunk_images: int) -> str:
    """The packing identity of a final shard (the codec is part of the shard's identity)."""
    return digest({"compression": compression or None, "chunk_images": int(chunk_images)})

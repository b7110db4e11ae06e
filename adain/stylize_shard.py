"""Stylize one shard of the manifest, checkpointing as it goes, into a staging shard file.

A killed job resumes from its last checkpoint (see :mod:`adain.checkpoint`): checkpoints are
taken only where the batching state is empty (:class:`adain.engine.Flushed`), so the resumed run
forms exactly the batches an uninterrupted run would, and the pixels are byte-identical.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import __version__
from .checkpoint import PartStore
from .engine import Flushed, ImageDataset, Rejected, Stylizer
from .filters import DEFAULTS, get_filter
from .identity import dataset_fingerprint, file_sha256, numerics, shard_fingerprint, shard_identity
from .images import DEFAULT_MAX_PIXELS, DEFAULT_MAX_PREPROCESSED_PIXELS
from .locking import held_lock
from .manifest import read_manifest
from .model import load_adain
from .paintings import PaintingStats
from .presets import Preset
from .shards import ShardData, encode_image, read_shard, write_shard

__all__ = ["stylize_shard"]

log = logging.getLogger(__name__)


class IdentityMismatch(RuntimeError):
    """This job would make a shard other than the one the run planned (see :mod:`adain.identity`)."""


def _differences(actual: dict, expected: dict) -> list[str]:
    return [f"{key}: {actual.get(key)!r} here, {expected.get(key)!r} planned"
            for key in sorted(set(actual) | set(expected)) if actual.get(key) != expected.get(key)]


def _part_arrays(rows: list[int], images: list, rejected: dict[int, str], encoded: bool) -> dict[str, np.ndarray]:
    arrays = {
        "rows": np.asarray(rows, dtype=np.int64),
        "rejected_rows": np.asarray(sorted(rejected), dtype=np.int64),
        "rejected_reasons": np.asarray([rejected[r] for r in sorted(rejected)], dtype=str),
    }
    if encoded:
        arrays["sizes"] = np.asarray([len(e) for e in images], dtype=np.int64)
        arrays["bytes"] = np.concatenate(images) if images else np.zeros(0, np.uint8)
    else:
        arrays["pixels"] = np.stack(images) if images else np.zeros((0, 1, 1, 3), np.uint8)
    return arrays


def stylize_shard(
    manifest_tsv: str | Path,
    stats_h5: str | Path,
    content_dir: str | Path,
    vgg: str | Path,
    decoder: str | Path,
    preset: Preset,
    out_h5: str | Path,
    alpha: float = 1.0,
    device: str = "auto",
    dtype: str = "float32",
    batch_size: int = 32,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_preprocessed_pixels: int = DEFAULT_MAX_PREPROCESSED_PIXELS,
    codec: str = "png",
    jpeg_quality: int = 95,
    checkpoint_images: int = 1000,
    checkpoint_seconds: float = 300.0,
    attrs: dict | None = None,
    method: str = "adain",
    method_params: dict | None = None,
    expected_identity: dict | None = None,
) -> dict:
    """Stylize every row of ``manifest_tsv`` with its painting and write the staging shard.

    Args:
        manifest_tsv: one shard's manifest (:mod:`adain.manifest`).
        stats_h5: merged painting statistics (:class:`adain.paintings.PaintingStats`).
        preset: the dataset preset; ``full`` stores images encoded with ``codec``.
        method: ``adain``, or a texture-suppression filter of :mod:`adain.filters` (then
            ``stats_h5``, ``vgg`` and ``decoder`` are unused) with ``method_params``.
        checkpoint_images, checkpoint_seconds: a checkpoint is written at the first safe point
            after this many images or seconds since the last one.
        attrs: provenance attributes stored on the shard.
        expected_identity: what the run planned (:meth:`adain.settings.StylizeSettings.identity`);
            the job refuses to start if its own identity differs (e.g. swapped weights, or
            ``device: auto`` finding no GPU on this node), naming the differences.

    The shard records ``fingerprint`` (:func:`adain.identity.shard_fingerprint`: its manifest file
    and its identity), ``dataset_fingerprint`` and ``identity``; checkpoints are keyed by the
    fingerprint, so a part made for other inputs or settings is never reused.

    Returns:
        Counts and timing of this run.
    """
    manifest_tsv, out_h5, content_dir = Path(manifest_tsv), Path(out_h5), Path(content_dir)
    # One writer per shard at a time: a duplicate job (e.g. resubmitted by a restarted cluster
    # controller while the first still runs) waits here, then finds the shard written.
    lock = out_h5.with_name(out_h5.name + ".lock")
    with held_lock(lock):
        if out_h5.exists():
            log.info("%s was written meanwhile by another job; nothing to do", out_h5)
            return {"images": len(read_shard(out_h5)), "rejected": 0, "seconds": 0.0, "images_per_second": 0.0}
        result = _stylize_shard(
            manifest_tsv, stats_h5, content_dir, vgg, decoder, preset, out_h5, alpha=alpha, device=device, dtype=dtype,
            batch_size=batch_size, workers=workers, max_pixels=max_pixels, max_preprocessed_pixels=max_preprocessed_pixels,
            codec=codec, jpeg_quality=jpeg_quality, checkpoint_images=checkpoint_images,
            checkpoint_seconds=checkpoint_seconds, attrs=attrs, method=method, method_params=method_params or {},
            expected_identity=expected_identity,
        )
        # the shard exists now, which is what a waiting duplicate checks: the lock file can go
        lock.unlink(missing_ok=True)
        return result


def _stylize_shard(manifest_tsv, stats_h5, content_dir, vgg, decoder, preset, out_h5, *, alpha, device, dtype,
                   batch_size, workers, max_pixels, max_preprocessed_pixels, codec, jpeg_quality, checkpoint_images,
                   checkpoint_seconds, attrs, method, method_params, expected_identity) -> dict:
    rows = read_manifest(manifest_tsv)
    encoded = not preset.fixed_size
    settings = {
        **preset.describe(), "method": method, "alpha": alpha, "dtype": dtype, "batch_size": batch_size,
        "codec": codec if encoded else "raw", "jpeg_quality": jpeg_quality, "max_pixels": max_pixels,
        "max_preprocessed_pixels": max_preprocessed_pixels,
    }
    weights_sha256 = stats_digest = None
    params: dict = {}
    random_standin = False
    if method == "adain":
        model = load_adain(vgg, decoder)
        stylizer = Stylizer(model, device=device, dtype=dtype, batch_size=batch_size)
        weights_sha256 = {"vgg": model.weights.vgg_sha256, "decoder": model.weights.decoder_sha256}
        random_standin = model.weights.random_standin
        stats_digest = PaintingStats(stats_h5).digest
        settings.update(vgg_sha256=weights_sha256["vgg"], decoder_sha256=weights_sha256["decoder"])
    else:
        params = {**DEFAULTS.get(method, {}), **method_params}
        stylizer = Stylizer(None, device=device, dtype=dtype, batch_size=batch_size, op=get_filter(method, params))
        settings.update(method_params=params)
    settings.update(
        device=stylizer.device.type,
        # on the CPU, convolution sums depend on the thread count: part of what decides the pixels
        cpu_threads=torch.get_num_threads() if stylizer.device.type == "cpu" else 0,
    )
    identity = shard_identity(
        preset.describe(), method, params, alpha, dtype, settings["codec"], jpeg_quality,
        (max_pixels, max_preprocessed_pixels),
        numerics(stylizer.device.type, torch.get_num_threads(), batch_size), weights_sha256, stats_digest,
    )
    if expected_identity is not None and identity != expected_identity:
        raise IdentityMismatch(f"{out_h5}: this job would not make the shard the run planned:\n  - "
                               + "\n  - ".join(_differences(identity, expected_identity)))
    dataset = dataset_fingerprint(identity)
    fingerprint = shard_fingerprint(dataset, file_sha256(manifest_tsv))
    settings.update(fingerprint=fingerprint, dataset_fingerprint=dataset, identity=json.dumps(identity, sort_keys=True),
                    random_standin_weights=random_standin)
    store = PartStore(out_h5.with_name(out_h5.name + ".parts"), fingerprint)
    parts = store.load()
    start = parts[-1][1] if parts else 0
    if start:
        log.info("resuming %s at row %d of %d from %d checkpoint(s)", manifest_tsv, start, len(rows), len(parts))

    todo = rows[start:]
    styles = sorted({r.style for r in todo})
    if method == "adain":
        stats_by_name = PaintingStats(stats_h5).load(styles)
        stats = {i: stats_by_name[name] for i, name in enumerate(styles)}
    else:  # filters need no painting
        stats = {i: np.zeros((2, 512), np.float32) for i in range(len(styles))}
    number = {name: i for i, name in enumerate(styles)}
    contents = ImageDataset([content_dir / r.content for r in todo], preset.content, max_pixels, max_preprocessed_pixels)
    drain_every = 0 if preset.fixed_size else max(checkpoint_images, batch_size)

    t0 = time.perf_counter()
    part_start, part_rows, part_images, part_rejected = start, [], [], {}
    last_save, since_save, done = time.monotonic(), 0, 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm(
        total=len(rows), initial=start, desc=f"stylize {manifest_tsv.stem}", unit="img", mininterval=10
    ) as bar:
        results = stylizer.stylize_dataset(
            contents, [[number[r.style]] for r in todo], stats, alpha, workers,
            finish=preset.finish(), drain_every=drain_every, count_offset=start,
        )
        for result in results:
            if isinstance(result, Rejected):
                part_rejected[start + result.index] = result.reason
                log.warning("rejected %s: %s", todo[result.index].content, result.reason)
                bar.update(1)
            elif isinstance(result, Flushed):
                end = start + result.consumed
                due = since_save >= checkpoint_images or time.monotonic() - last_save >= checkpoint_seconds
                if end > part_start and (due or end == len(rows)):
                    order = np.argsort(part_rows, kind="stable")
                    images = [part_images[i] for i in order]
                    if encoded:
                        images = [future.result() for future in images]
                    store.save(part_start, end, _part_arrays(sorted(part_rows), images, part_rejected, encoded))
                    part_start, part_rows, part_images, part_rejected = end, [], [], {}
                    last_save, since_save = time.monotonic(), 0
            else:
                part_rows.append(start + result.index)
                image = result.image
                part_images.append(pool.submit(encode_image, image, codec, jpeg_quality) if encoded else image)
                since_save += 1
                done += 1
                bar.update(1)
    seconds = time.perf_counter() - t0

    parts = store.load()
    covered = parts[-1][1] if parts else 0
    if covered != len(rows):
        raise RuntimeError(f"{manifest_tsv}: checkpoints cover {covered} of {len(rows)} rows after the run")
    kept = np.concatenate([p[2]["rows"] for p in parts]).tolist()
    rejected_rows = np.concatenate([p[2]["rejected_rows"] for p in parts]).tolist()
    reasons = sum((p[2]["rejected_reasons"].tolist() for p in parts), [])
    if encoded:
        images = []
        for _, _, arrays in parts:
            offsets = np.concatenate([[0], np.cumsum(arrays["sizes"])])
            images += [arrays["bytes"][offsets[i] : offsets[i + 1]] for i in range(len(arrays["sizes"]))]
        shapes = np.array([_encoded_shape(e) for e in images], dtype=np.int64).reshape(-1, 3)
    else:
        # a part whose rows were all rejected holds a (0, 1, 1, 3) placeholder: leave it out
        images = (np.concatenate([p[2]["pixels"] for p in parts if len(p[2]["rows"])]) if kept
                  else np.zeros((0, preset.size, preset.size, 3), np.uint8))
        shapes = None
    data = ShardData(
        images=images,
        labels=np.array([rows[i].label for i in kept], dtype=np.int64),
        content=[rows[i].content for i in kept],
        style=[rows[i].style for i in kept],
        wnid=[rows[i].wnid for i in kept],
        labels_clsloc=np.array([rows[i].clsloc for i in kept], dtype=np.int64),
        codec=settings["codec"],
        shapes=shapes,
        rejected_content=[rows[i].content for i in rejected_rows],
        rejected_reason=reasons,
        attrs={
            **(attrs or {}), **settings, "package_version": __version__, "manifest_count": len(rows),
            "stylize_seconds": seconds, "stylized_this_run": done,
        },
    )
    write_shard(out_h5, data)
    store.clear()
    rate = done / seconds if seconds else 0.0
    log.info("%s: %d images, %d rejected; %d stylized in this run in %.1f s (%.1f images/s)",
             out_h5, len(kept), len(rejected_rows), done, seconds, rate)
    return {"images": len(kept), "rejected": len(rejected_rows), "seconds": seconds, "images_per_second": rate}


def _encoded_shape(data: np.ndarray) -> tuple[int, int, int]:
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(data.tobytes())) as image:
        return image.height, image.width, 3

"""Stylize one shard of the manifest, checkpointing as it goes, into a staging shard file.

A killed job resumes from its last checkpoint (see :mod:`adain.shards.checkpoint`): checkpoints are
taken only where the batching state is empty (:class:`adain.engine.stylizer.Flushed`), so the resumed run
forms exactly the batches an uninterrupted run would, and the pixels are byte-identical.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import __version__
from ..core.filters import get_filter
from ..core.flops import stylize_gflop, tflops
from ..core.model import load_adain
from ..engine.device import cuda_environment
from ..engine.image_dataset import ImageDataset
from ..engine.stylizer import Flushed, Rejected, StylizedRun, Stylizer
from ..files.hashing import file_sha256
from ..files.locking import held_lock
from ..shards.checkpoint import WORK_FILE, CheckpointedStaging, PartStore, parts_folder
from ..shards.format import ShardData, ShardWriter, encode_image, read_shard
from .assign_styles import read_manifest, sample_key
from .fingerprints import shard_fingerprint, stylization_fingerprint
from .paintings import PaintingStats
from .settings import StylizeSettings
from .speed import DONE, FINISHED, STARTED, write_record

__all__ = ["stylize_shard"]

log = logging.getLogger(__name__)

#: Preset ``full``: images of one size gather into batches across this many rows, then everything
#: pending runs (a safe point for a checkpoint).
FULL_SAFE_POINT_EVERY = 256


class IdentityMismatch(RuntimeError):
    """This job would make a shard other than the one the run planned (see :mod:`adain.stages.fingerprints`)."""


def _differences(actual: dict, expected: dict) -> list[str]:
    return [
        f"{key}: {actual.get(key)!r} here, {expected.get(key)!r} planned"
        for key in sorted(set(actual) | set(expected))
        if actual.get(key) != expected.get(key)
    ]


def stylize_shard(
    manifest_tsv: str | Path,
    stats_h5: str | Path | None,
    content_dir: str | Path,
    vgg: str | Path | None,
    decoder: str | Path | None,
    out_h5: str | Path,
    settings: StylizeSettings,
    attrs: dict | None = None,
    expected_identity: dict | None = None,
    stylizer: Stylizer | None = None,
    style_dir: str | Path | None = None,
    on_checkpoint: Callable[[Path], None] | None = None,
) -> dict:
    """Stylize every row of ``manifest_tsv`` with its painting and write the staging shard.

    Args:
        manifest_tsv: one shard's manifest (:mod:`adain.stages.assign_styles`).
        stats_h5: merged painting statistics (:class:`adain.stages.paintings.PaintingStats`).
        settings: preset, method, numerics, decode path, checkpoint intervals, ...; with a method
            other than ``adain`` (a texture-suppression filter of :mod:`adain.core.filters`, or ``none``),
            ``stats_h5``, ``vgg`` and ``decoder`` are unused. ``settings.device`` is used as it is
            (claim a GPU first: :func:`adain.engine.gpus.gpu_slot`). A checkpoint is written at the first
            safe point after ``checkpoint_images`` images or ``checkpoint_seconds`` seconds.
        attrs: provenance attributes stored on the shard.
        expected_identity: what the run planned (:meth:`adain.stages.settings.StylizeSettings.identity`);
            the job refuses to start if its own identity differs (e.g. swapped weights, or
            ``device: auto`` finding no GPU on this node), naming the differences.
        stylizer: a ready :class:`adain.engine.stylizer.Stylizer` to use instead of the one ``settings``
            describe (benchmarks: a stand-in device); the shard still records ``settings``' identity.
        style_dir: the paintings' folder (the manifest's ``style`` names are below it); read only
            with ``settings.preserve_color``, which encodes each (content, painting) pair.
        on_checkpoint: called with the shard's parts folder after each checkpoint, while its work
            file is quiet (e.g. :func:`adain.run.mirror.checkpoint_copier`).

    The shard records ``fingerprint`` (:func:`adain.stages.fingerprints.shard_fingerprint`: its manifest file
    and its identity), ``stylization_fingerprint`` and ``identity``; checkpoints are keyed by the
    fingerprint, so a part made for other inputs or settings is never reused.

    Returns:
        Counts and timing of this run: ``images``, ``rejected``, ``seconds``,
        ``images_per_second``, ``gflop`` (stylizing this run's images) and ``tflops``.
    """
    manifest_tsv, out_h5, content_dir = Path(manifest_tsv), Path(out_h5), Path(content_dir)
    # One writer per shard at a time: a duplicate job (e.g. resubmitted by a restarted cluster
    # controller while the first still runs) waits here, then finds the shard written.
    lock = out_h5.with_name(out_h5.name + ".lock")
    with held_lock(lock):
        if out_h5.exists():
            log.info("%s was written meanwhile by another job; nothing to do", out_h5)
            return {
                "images": len(read_shard(out_h5)),
                "rejected": 0,
                "seconds": 0.0,
                "images_per_second": 0.0,
                "gflop": 0.0,
                "tflops": 0.0,
            }
        result = _stylize_shard(
            manifest_tsv,
            stats_h5,
            content_dir,
            vgg,
            decoder,
            out_h5,
            settings,
            attrs or {},
            expected_identity,
            stylizer,
            style_dir,
            on_checkpoint,
        )
        # the shard exists now, which is what a waiting duplicate checks: the lock file can go
        lock.unlink(missing_ok=True)
        return result


def _make_stylizer(settings: StylizeSettings, vgg, decoder) -> Stylizer:
    """The model (``adain``) or the texture-suppression filter that ``settings`` describe."""
    options = dict(
        device=settings.device,
        dtype=settings.dtype,
        batch_size=settings.batch_size,
        channels_last=settings.channels_last,
    )
    if settings.method == "adain":
        return Stylizer(load_adain(vgg, decoder), compile=settings.compile, **options)
    return Stylizer(None, op=get_filter(settings.method, settings.full_method_params()), **options)


def _describe(
    settings: StylizeSettings,
    stylizer: Stylizer,
    vgg,
    decoder,
    stats_h5,
    manifest_tsv: Path,
    out_h5: Path,
    expected_identity: dict | None,
) -> dict:
    """The shard's attributes that say what made it: settings, weights, numerics, ``identity`` and
    the fingerprints (refusing to go on when the identity is not the planned one)."""
    preset, method = settings.get_preset(), settings.method
    described = {
        **preset.describe(),
        "method": method,
        "alpha": settings.alpha,
        "dtype": settings.dtype,
        "batch_size": settings.batch_size,
        "codec": settings.stored_codec,
        "jpeg_quality": settings.jpeg_quality,
        "max_pixels": settings.max_pixels,
        "max_preprocessed_pixels": settings.max_preprocessed_pixels,
        "decode": settings.decode,
        "preserve_color": settings.preserve_color and method == "adain",
    }
    weights_sha256 = stats_digest = None
    random_standin = False
    if method == "adain":
        model = load_adain(vgg, decoder) if stylizer.model is None else stylizer.model
        weights_sha256 = {"vgg": model.weights.vgg_sha256, "decoder": model.weights.decoder_sha256}
        random_standin = model.weights.random_standin
        stats_digest = PaintingStats(stats_h5).digest
        described.update(vgg_sha256=weights_sha256["vgg"], decoder_sha256=weights_sha256["decoder"])
    else:
        described.update(method_params=settings.full_method_params())
    device_type = stylizer.device.type
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    log.info(
        "%s: %s on %s%s, %s",
        out_h5.name,
        method,
        stylizer.device,
        f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else "",
        settings.dtype,
    )
    # on the CPU, convolution sums depend on the thread count: part of what decides the pixels
    threads = torch.get_num_threads()
    described.update(
        device=device_type,
        cpu_threads=threads if device_type == "cpu" else 0,
        channels_last=stylizer.channels_last,
        compile=stylizer.compiled,
    )
    identity = replace(settings, cpu_threads=threads).identity(device_type, weights_sha256, stats_digest)
    if expected_identity is not None and identity != expected_identity:
        raise IdentityMismatch(
            f"{out_h5}: this job would not make the shard the run planned:\n  - "
            + "\n  - ".join(_differences(identity, expected_identity))
        )
    stylization = stylization_fingerprint(identity)
    return {
        **described,
        # what else decides the bits (device name, torch, CUDA, cuDNN): provenance, and the key of
        # the checkpoints (a resume under another environment starts the shard over)
        "environment": json.dumps(cuda_environment(stylizer.device), sort_keys=True),
        "fingerprint": shard_fingerprint(stylization, file_sha256(manifest_tsv)),
        "stylization_fingerprint": stylization,  # "dataset_fingerprint" in older shards (docs/resume.md)
        "identity": json.dumps(identity, sort_keys=True),
        "random_standin_weights": random_standin,
    }


def _open_staging(out_h5: Path, store: PartStore, settings: StylizeSettings, count: int) -> tuple[ShardWriter, list]:
    """The staging writer and the verified checkpointed parts: resumed where its images read back
    intact, else started over."""
    preset = settings.get_preset()
    shape = (preset.size, preset.size, 3) if preset.fixed_size else None
    work = store.folder / WORK_FILE
    parts = store.load()
    if parts:
        checksums = np.concatenate([p[2]["checksums"] for p in parts]).astype(np.uint32)
        staging = ShardWriter.resume(out_h5, work, settings.stored_codec, shape, count, checksums)
        if staging is not None:
            return staging, parts
        log.warning("%s: the checkpointed images do not read back intact; the shard starts over", work)
        store.clear()
    return ShardWriter(out_h5, work, settings.stored_codec, shape, count), []


def _inputs(todo: list, settings: StylizeSettings, stats_h5, content_dir: Path, style_dir) -> tuple:
    """What the pipeline stylizes: ``(contents dataset, painting numbers per row, statistics by number)``."""
    preset, method = settings.get_preset(), settings.method
    names = sorted({r.style for r in todo})
    if method == "adain":
        by_name = PaintingStats(stats_h5).load(names)
        stats = {i: by_name[name] for i, name in enumerate(names)}
    else:  # filters need no painting
        stats = {i: np.zeros((2, 512), np.float32) for i in range(len(names))}
    number = {name: i for i, name in enumerate(names)}
    paintings = None
    if settings.preserve_color and method == "adain":  # each pair encoded: the paintings' pixels
        if style_dir is None:
            raise ValueError("preserve_color needs style_dir (the paintings' folder)")
        paintings = [[Path(style_dir) / r.style] for r in todo]
    folder = str(content_dir)  # string joins: pathlib costs ~25 microseconds a row
    contents = ImageDataset(
        [os.path.join(folder, r.content) for r in todo],
        preset.content,
        settings.max_pixels,
        settings.max_preprocessed_pixels,
        settings.decode,
        paintings,
        preset.painting,
    )
    return contents, [[number[r.style]] for r in todo], stats


def _run_pipeline(
    stylizer: Stylizer,
    settings: StylizeSettings,
    todo: list,
    inputs: tuple,
    start: int,
    total: int,
    saver: CheckpointedStaging,
    desc: str,
) -> tuple[int, float]:
    """Stylize ``todo`` (rows ``start`` on) into ``saver``; returns ``(images stylized, GFLOP)``."""
    preset = settings.get_preset()
    contents, pairs, stats = inputs
    # fixed sizes: every run of batch_size rows is a batch and a safe point; full: sizes gather over
    # FULL_SAFE_POINT_EVERY rows (a fixed count: on CUDA the batches decide the bits)
    drain_every = settings.batch_size if preset.fixed_size else max(FULL_SAFE_POINT_EVERY, settings.batch_size)
    flop_counted, encoded = settings.method == "adain", not preset.fixed_size
    t0, done, gflop = time.perf_counter(), 0, 0.0
    with (
        ThreadPoolExecutor(max_workers=max(1, settings.workers)) as encoders,
        tqdm(total=total, initial=start, desc=desc, unit="img", mininterval=10) as bar,
    ):
        results = stylizer.stylize_dataset(
            contents,
            pairs,
            stats,
            settings.alpha,
            settings.workers,
            finish=preset.finish(),
            drain_every=drain_every,
            count_offset=start,
            batched=not encoded,  # fixed sizes: a batch's outputs as one block, nothing per image
        )
        for result in results:
            if isinstance(result, StylizedRun):
                count, (height, width) = len(result.indices), result.images.shape[1:3]
                saver.add_run([start + i for i in result.indices], result.images)
                if flop_counted:
                    gflop += count * stylize_gflop(height * preset.downsample, width * preset.downsample)
                done += count
                bar.update(count)
            elif isinstance(result, Rejected):
                saver.reject(start + result.index, result.reason)
                row = todo[result.index]
                log.warning("rejected %s: %s", sample_key(row.content, row.k), result.reason)
                bar.update(1)
            elif isinstance(result, Flushed):
                if saver.safe_point(start + result.consumed, total) and flop_counted:
                    bar.set_postfix_str(f"{tflops(gflop, time.perf_counter() - t0):.3f} TFLOP/s", refresh=False)
            else:
                image = result.image
                if encoded:
                    saver.add(
                        start + result.index,
                        encoders.submit(encode_image, image, settings.stored_codec, settings.jpeg_quality),
                    )
                else:
                    saver.add(start + result.index, image)
                if flop_counted:
                    gflop += stylize_gflop(image.shape[0] * preset.downsample, image.shape[1] * preset.downsample)
                done += 1
                bar.update(1)
        saver.finish()
    return done, gflop


def _shard_data(rows: list, parts: list, codec: str, attrs: dict) -> ShardData:
    """The shard's metadata from its manifest rows and the checkpointed parts (which must cover
    every row, in order)."""
    covered = 0
    for first, end, _ in parts:  # earlier runs' parts (verified when loaded), then this run's, in order
        covered = end if first == covered else -1
    if covered != len(rows):
        raise RuntimeError(f"checkpoints cover {covered} of {len(rows)} rows after the run")
    kept = np.concatenate([p[2]["rows"] for p in parts]).tolist()
    rejected_rows = np.concatenate([p[2]["rejected_rows"] for p in parts]).tolist()
    reasons = sum((p[2]["rejected_reasons"].tolist() for p in parts), [])
    checksums = np.concatenate([p[2]["checksums"] for p in parts]).astype(np.uint32)
    return ShardData(
        images=None,
        labels=np.array([rows[i].label for i in kept], dtype=np.int64),
        content=[rows[i].content for i in kept],
        style=[rows[i].style for i in kept],
        wnid=[rows[i].wnid for i in kept],
        labels_clsloc=np.array([rows[i].clsloc for i in kept], dtype=np.int64),
        codec=codec,
        rejected_content=[rows[i].content for i in rejected_rows],
        rejected_reason=reasons,
        k=np.array([rows[i].k for i in kept], dtype=np.int64),
        rejected_k=np.array([rows[i].k for i in rejected_rows], dtype=np.int64),
        attrs=attrs,
        checksums=checksums,  # of the bytes as the job wrote them: validation reads them against these
    )


def _stylize_shard(
    manifest_tsv: Path,
    stats_h5,
    content_dir: Path,
    vgg,
    decoder,
    out_h5: Path,
    settings: StylizeSettings,
    attrs: dict,
    expected_identity: dict | None,
    given: Stylizer | None,
    style_dir,
    on_checkpoint: Callable[[Path], None] | None,
) -> dict:
    rows = read_manifest(manifest_tsv)
    stylizer = given if given is not None else _make_stylizer(settings, vgg, decoder)
    described = _describe(settings, stylizer, vgg, decoder, stats_h5, manifest_tsv, out_h5, expected_identity)
    store = PartStore(parts_folder(out_h5), described["fingerprint"], described["environment"])
    staging, parts = _open_staging(out_h5, store, settings, len(rows))
    try:  # from here on, a failure leaves the work file closed (and kept for a resume)
        start = parts[-1][1] if parts else 0
        if start:
            log.info("resuming %s at row %d of %d from %d checkpoint(s)", manifest_tsv, start, len(rows), len(parts))
        todo = rows[start:]
        saver = CheckpointedStaging(
            staging,
            store,
            parts,
            start,
            settings.checkpoint_images,
            settings.checkpoint_seconds,
            encoded=not settings.get_preset().fixed_size,
            on_checkpoint=on_checkpoint,
        )
        t0, started_at = time.perf_counter(), time.time()
        try:
            done, gflop = _run_pipeline(
                stylizer,
                settings,
                todo,
                _inputs(todo, settings, stats_h5, content_dir, style_dir),
                start,
                len(rows),
                saver,
                f"stylize {manifest_tsv.stem}",
            )
        finally:
            saver.stop()
        seconds = time.perf_counter() - t0
        provenance = {**attrs, **described, "package_version": __version__, "manifest_count": len(rows)}
        record = {  # beside the shard, not in it: the shard's bytes are its contents' alone
            "stylize_seconds": seconds,
            DONE: done,
            STARTED: started_at,  # wall-clock times: the run's speed (adain.stages.speed)
            FINISHED: time.time(),
            "stylize_gflop": gflop,
        }
        try:
            data = _shard_data(rows, parts, settings.stored_codec, provenance)
        except RuntimeError as error:
            raise RuntimeError(f"{manifest_tsv}: {error}") from None
        write_record(out_h5, record)
        staging.close(data)
    finally:
        staging.abort()  # after close: nothing; after a failure: the work file stays for a resume
    store.clear()
    return _result(out_h5, data, record)


def _result(out_h5: Path, data, record: dict) -> dict:
    """The finished shard's figures, logged and returned."""
    done, seconds, gflop = record[DONE], record["stylize_seconds"], record["stylize_gflop"]
    rate = done / seconds if seconds else 0.0
    log.info(
        "%s: %d images, %d rejected; %d stylized in this run in %.1f s (%.1f images/s, %.3f TFLOP/s)",
        out_h5,
        len(data),
        len(data.rejected_content),
        done,
        seconds,
        rate,
        tflops(gflop, seconds),
    )
    return {
        "images": len(data),
        "rejected": len(data.rejected_content),
        "seconds": seconds,
        "images_per_second": rate,
        "gflop": gflop,
        "tflops": tflops(gflop, seconds),
        **{key: record[key] for key in (STARTED, FINISHED, DONE)},  # for the run's speed
    }

"""Is a GPU fed? The stylize pipeline from JPEG files to packed shards, stage by stage, on this CPU.

For each preset (``sin``, ``64``, ``full``), on ImageNet-like JPEGs made from real photos
(ImageNet's size and quality mix, 10% greyscale):

1. **Stage costs** per image on one core: decode, preprocess, transfer (to the device's float
   input), compute (the real model on the CPU), copy back (quantize, to host), encode (``full``'s
   PNG), write (staging shard + pack).
2. **Bare limit**: decode + preprocess alone in ``--workers`` processes (a DataLoader doing nothing
   else): the most any host path on these cores can deliver.
3. **Host path**: the real ``stylize_shard`` with a free stand-in device (everything a GPU job's
   host does: decode, batches, results, the staging file, checkpoints), then validate and pack
   (their ms per image); ``host_ratio`` = its images/s over the bare limit. ``engine_host_ratio``:
   the same without the shard's disk writes.
4. **Stand-in GPU**: ``stylize_shard`` with a device of fixed cost per batch that releases the
   GIL, set to ``--device-share`` of the bare limit; ``overlap_efficiency`` = achieved images/s
   over the slowest stage's (decode, device, or the host path with its writes).
5. **Real model on the CPU**: ``stylize_shard`` with AdaIN (random release-format weights);
   efficiency = achieved images/s over the model's own rate on preloaded batches.

6. **The host's share** (also alone: ``--host``): the *serial ceiling*, images per CPU second of
   the stylize job's main process (all its threads; decode workers excluded) with a free device
   and decoding made free (the workers serve pre-decoded images from shared memory), user and
   system apart, at the margin between a job of N and one of 3N images, and for the whole job;
   *host cores per 1,000 images/s*: CPU seconds per image of the whole job (main process + decode
   workers) and of the workflow's other stages (index, manifests, validate, pack), for each decode
   path; *bytes written and read per stored byte* across stylize, validate and pack (what the
   processes pass through read/write system calls, direct I/O included; the modules a job imports
   once are warmed first).

    python bench/pipeline.py [--quick] [--json] [--workers 2] [--host]

Targets: overlap_efficiency >= 0.9; host_ratio (``sin``) >= 0.8 (issue 15); serial ceiling ``sin``
>= 10,000 and ``64`` >= 20,000 images/s; ``sin`` with ``decode: fast`` <= 2 host cores per
1,000 images/s; one write and one read per stored byte (issue 33).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import job_inputs, machine  # noqa: E402

from adain.core.model import load_adain  # noqa: E402
from adain.engine.device import quantize
from adain.engine.images import read_jpeg_tensor  # noqa: E402
from adain.engine.stylizer import Stylizer  # noqa: E402
from adain.shards.format import encode_image, read_shard, write_shard  # noqa: E402
from adain.stages.assign_styles import read_manifest  # noqa: E402
from adain.stages.pack_shard import pack_shard  # noqa: E402
from adain.stages.paintings import PaintingStats  # noqa: E402
from adain.stages.settings import StylizeSettings  # noqa: E402
from adain.stages.stylize_shard import stylize_shard  # noqa: E402
from adain.stages.validate_shard import validate_shard  # noqa: E402


class StandInDevice(Stylizer):
    """A device of fixed cost per batch, asynchronous like a CUDA stream: a batch is "launched" at
    once and its result is ready ``batch / images_per_second`` after the device finished the
    previous one (reading it waits, without the GIL, until then). The host does exactly what it
    does for a GPU: decode, preprocess, batch, receive ``uint8`` results, write them.
    ``images_per_second=0``: free (the host path alone).

    Results: on a GPU they arrive in pinned host buffers by DMA, at no CPU cost, so for fixed
    sizes the stand-in hands back buffers of a pool (already in memory, cycled; more than the
    job ever holds at once) holding the input's first pixels; for ``full`` (a size per image) it
    copies the input pixels, which charges the host a copy a GPU would not."""

    def __init__(self, images_per_second: float, batch_size: int, downsample: int, size: int | None = None) -> None:
        super().__init__(None, device="cpu", batch_size=batch_size, op=lambda images: images)
        self.seconds_per_image = 1.0 / images_per_second if images_per_second else 0.0
        self.step = downsample
        self._pool = [_page_aligned_full((batch_size, size, size, 3), i % 256) for i in range(64)] if size else []
        self._next = 0

    def device_queue(self):
        return _ModeledStream(self.seconds_per_image)

    def compute_batch(self, content, stats, alpha=1.0, finish=None, offset=0):
        if not self._pool:
            return [(offset, content[..., :: self.step, :: self.step].permute(0, 2, 3, 1).contiguous())]
        buffer = self._pool[self._next % len(self._pool)]
        self._next += 1
        return [(offset, buffer[: len(content)])]


def _page_aligned_full(shape: tuple[int, ...], value: int) -> torch.Tensor:
    """A ``uint8`` tensor at a page boundary, as a GPU's page-locked result buffers are."""
    import mmap

    size = int(np.prod(shape))
    tensor = torch.frombuffer(mmap.mmap(-1, size), dtype=torch.uint8, count=size).view(shape)
    return tensor.fill_(value)


class _ModeledStream:
    """The queue of :class:`StandInDevice`: work runs at launch, its result is ready when a device
    of the given cost per image would have finished it (batches one after another)."""

    def __init__(self, seconds_per_image: float) -> None:
        self.seconds_per_image, self.busy_until = seconds_per_image, 0.0

    def submit(self, work, content, *args):
        result = work(content, *args)
        self.busy_until = max(time.monotonic(), self.busy_until) + self.seconds_per_image * len(content)
        return _Ready(result, self.busy_until)

    def close(self) -> None:
        pass


class _Ready:
    def __init__(self, result, at: float) -> None:
        self._result, self._at = result, at

    def result(self):
        time.sleep(max(0.0, self._at - time.monotonic()))
        return self._result


def _timed(function, *args, repeat: int = 1):
    function(*args)  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        result = function(*args)
    return (time.perf_counter() - start) / repeat, result


def stage_costs(inputs, settings: StylizeSettings, model, sample: int) -> dict[str, float]:
    """Milliseconds per image of each stage, one thread."""
    torch.set_num_threads(1)
    preset = settings.get_preset()
    rows = read_manifest(inputs.manifest)[:sample]
    paths = [inputs.content_dir / r.content for r in rows]
    costs = {}
    start = time.perf_counter()
    decoded = [read_jpeg_tensor(p) for p in paths]
    costs["decode"] = (time.perf_counter() - start) / len(paths)
    start = time.perf_counter()
    images = [preset.content.apply_tensor(image) for image in decoded]
    costs["preprocess"] = (time.perf_counter() - start) / len(paths)
    stylizer = Stylizer(model, device="cpu", batch_size=settings.batch_size)
    stats = torch.from_numpy(np.stack(list(PaintingStats(inputs.stats_h5).load({r.style for r in rows}).values())))[
        :1
    ].repeat(settings.batch_size, 1, 1)
    same = [i for i in images if i.shape == images[0].shape][: settings.batch_size]
    batch = torch.stack(same)
    seconds, _ = _timed(stylizer._to_input, batch, repeat=5)
    costs["transfer"] = seconds / len(same)
    torch.set_num_threads(settings.cpu_threads)
    seconds, out = _timed(stylizer.stylize_float, batch, stats[: len(same)])
    costs["compute"] = seconds / len(same) - costs["transfer"]
    torch.set_num_threads(1)
    finish = preset.finish() or (lambda x: x)
    seconds, pixels = _timed(
        lambda o: stylizer._to_host(quantize(finish(o)).permute(0, 2, 3, 1)).numpy(), out, repeat=5
    )
    costs["copy_back"] = seconds / len(same)
    if preset.fixed_size:
        costs["encode"] = 0.0
        stored = pixels
    else:
        start = time.perf_counter()
        stored = [encode_image(p, settings.codec) for p in pixels]
        costs["encode"] = (time.perf_counter() - start) / len(pixels)
    costs["write"] = _write_cost(stored, preset.fixed_size)
    return {k: v * 1000 for k, v in costs.items()}


def _write_cost(stored, fixed: bool) -> float:
    from adain.shards.format import ShardData

    count = len(stored)
    with tempfile.TemporaryDirectory() as tmp:
        data = ShardData(
            images=stored,
            labels=np.zeros(count, np.int64),
            content=[f"c{i}" for i in range(count)],
            style=["s"] * count,
            wnid=["n0"] * count,
            labels_clsloc=np.zeros(count, np.int64),
            codec="raw" if fixed else "png",
            shapes=None if fixed else np.array([[8, 8, 3]] * count, np.int64),
            rejected_content=[],
            rejected_reason=[],
            attrs={},
        )
        start = time.perf_counter()
        write_shard(Path(tmp) / "s.h5", data)
        return (time.perf_counter() - start) / count


class _Bare(torch.utils.data.Dataset):
    """Decode + preprocess and nothing else; fixed sizes are stacked in the worker."""

    def __init__(self, paths, recipe, batch: int):
        self.paths, self.recipe, self.batch = paths, recipe, batch

    def __len__(self):
        return -(-len(self.paths) // self.batch)

    def __getitem__(self, k):
        images = []
        for path in self.paths[k * self.batch : (k + 1) * self.batch]:
            image = read_jpeg_tensor(path)
            images.append(self.recipe.apply_tensor(image))
        return torch.stack(images) if len({i.shape for i in images}) == 1 else images


def bare_rate(inputs, settings: StylizeSettings, workers: int) -> float:
    """Images/s of decode + preprocess in ``workers`` processes (the host path's ceiling)."""
    paths = [inputs.content_dir / r.content for r in read_manifest(inputs.manifest)]
    recipe = settings.get_preset().content
    recipe.apply_tensor(read_jpeg_tensor(paths[0]))  # the decoders imported before the workers fork
    loader = torch.utils.data.DataLoader(
        _Bare(paths, recipe, settings.batch_size), batch_size=None, num_workers=workers, prefetch_factor=2
    )
    start = time.perf_counter()
    count = sum(len(batch) for batch in loader)
    return count / (time.perf_counter() - start)


def engine_rate(inputs, settings: StylizeSettings, stylizer) -> float:
    """Images/s of the engine alone: decode workers -> batches -> device -> results in order
    (the stylize job without its checkpoint and shard writes)."""
    from adain.engine.image_dataset import ImageDataset
    from adain.engine.stylizer import Stylized

    rows = read_manifest(inputs.manifest)
    dataset = ImageDataset(
        [inputs.content_dir / r.content for r in rows],
        settings.get_preset().content,
        settings.max_pixels,
        settings.max_preprocessed_pixels,
        settings.decode,
    )
    start = time.perf_counter()
    count = sum(
        isinstance(r, Stylized)
        for r in stylizer.stylize_dataset(
            dataset,
            [[0]] * len(rows),
            {0: np.zeros((2, 512), np.float32)},
            workers=settings.workers,
            finish=settings.get_preset().finish(),
            drain_every=settings.batch_size,
        )
    )
    return count / (time.perf_counter() - start)


def run_shard(root: Path, inputs, settings: StylizeSettings, name: str, stylizer=None) -> dict:
    """The stylize job alone (images/s), then validate and pack (ms per image); each stage's
    CPU time and I/O (:class:`_Measured`) under ``stylize``, ``validate``, ``pack``."""
    staging, report, packed = (root / name / f for f in ("staging.h5", "report.json", "packed.h5"))
    with _Measured() as stylize:
        result = stylize_shard(
            inputs.manifest,
            inputs.stats_h5,
            inputs.content_dir,
            inputs.vgg,
            inputs.decoder,
            staging,
            settings,
            stylizer=stylizer,
        )
    with _Measured() as validate:
        validate_shard(staging, inputs.manifest, report, settings.get_preset().size, inputs.content_dir)
    with _Measured() as pack:
        pack_shard(staging, report, packed)
    assert result["images"] + result["rejected"] == inputs.count and len(read_shard(packed)) == result["images"]
    return {
        "images_per_s": inputs.count / stylize.wall,
        "validate_ms": validate.wall / inputs.count * 1e3,
        "pack_ms": pack.wall / inputs.count * 1e3,
        "files_to_packed_images_per_s": inputs.count / (stylize.wall + validate.wall + pack.wall),
        "tflops": result["tflops"],
        "stylize": stylize,
        "validate": validate,
        "pack": pack,
        "packed_bytes": packed.stat().st_size,
    }


def _cpu_seconds(who: int) -> tuple[float, float]:
    """(user, system) CPU seconds of this process's threads (``RUSAGE_SELF``) or of its reaped
    children (``RUSAGE_CHILDREN``: the decode workers, once they ended)."""
    usage = resource.getrusage(who)
    return usage.ru_utime, usage.ru_stime


def _io_bytes() -> tuple[int, int]:
    """(read, written) bytes this process passed through read/write system calls (pread, pwrite,
    pwritev included; ``/proc/self/io`` rchar/wchar, cached or not; memory-mapped reads do not count)."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


class _Measured:
    """CPU seconds (this process, its children) and I/O bytes over a block."""

    def __enter__(self):
        self.self0, self.children0, self.io0 = (
            _cpu_seconds(resource.RUSAGE_SELF),
            _cpu_seconds(resource.RUSAGE_CHILDREN),
            _io_bytes(),
        )
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        user, system = (b - a for a, b in zip(self.self0, _cpu_seconds(resource.RUSAGE_SELF)))
        self.user, self.system = user, system
        self.children = sum(b - a for a, b in zip(self.children0, _cpu_seconds(resource.RUSAGE_CHILDREN)))
        self.read, self.written = (b - a for a, b in zip(self.io0, _io_bytes()))


def _predecoded(inputs, settings: StylizeSettings) -> dict:
    """Every content of ``inputs`` decoded and preprocessed once, into memory shared with the
    decode workers (forked from here): they then serve the images without decoding, and the fork
    copies no page tables for them (as it would for private memory)."""
    import mmap

    from adain.engine.image_dataset import ImageDataset

    rows = read_manifest(inputs.manifest)
    dataset = ImageDataset(
        [inputs.content_dir / r.content for r in rows], settings.get_preset().content, decode=settings.decode
    )
    images = {str(path): dataset._load(path) for path in dataset.paths}
    memory = mmap.mmap(-1, sum(image.numel() for image in images.values()))  # MAP_SHARED | MAP_ANONYMOUS
    shared, at = {}, 0
    for path, image in images.items():
        view = torch.frombuffer(memory, dtype=torch.uint8, count=image.numel(), offset=at).view(image.shape)
        shared[path] = view.copy_(image)
        at += image.numel()
    return shared


def _import_decoders(inputs, settings: StylizeSettings) -> None:
    from adain.engine.image_dataset import ImageDataset

    rows = read_manifest(inputs.manifest)[:1]
    ImageDataset([inputs.content_dir / rows[0].content], settings.get_preset().content, decode="fast").import_decoders()


def _main_process_cpu(root: Path, inputs, settings: StylizeSettings, name: str) -> _Measured:
    """One stylize job on ``inputs`` with a free device and decoding made free."""
    from adain.engine.image_dataset import ImageDataset

    preset = settings.get_preset()
    ready = _predecoded(inputs, settings)
    device = StandInDevice(0, settings.batch_size, preset.downsample, preset.size)  # its buffers: not the job's
    load = ImageDataset._load
    ImageDataset._load = lambda self, path: ready[str(path)]  # a bench's stand-in: the workers fork with it
    try:
        os.sync()
        with _Measured() as measured:
            stylize_shard(
                inputs.manifest, None, inputs.content_dir, None, None, root / f"{name}.h5", settings, stylizer=device
            )
    finally:
        ImageDataset._load = load
    return measured


def serial_ceiling(root: Path, small, large, settings: StylizeSettings, repeat: int = 2) -> dict:
    """The stylize job's main process alone: a free device and decoding made free (the decode
    workers hand over pre-decoded images), so that its CPU time is what it spends on everything
    else (receiving batches, results, the staging writes, CRCs, checkpoints, progress).

    ``images_per_cpu_s``: images per main-process CPU second at the margin, from two jobs of
    ``small`` and ``large`` images (the second's extra images over its extra CPU time: what a
    longer shard costs per image), user and system apart; ``whole_job``: the ``large`` job's images
    over all its CPU time, start-up (forking the decode workers, opening files; the modules are
    imported already) included, and that start-up alone. Best of ``repeat`` per job size.
    """
    best: dict[str, _Measured] = {}
    for attempt in range(repeat):
        for label, inputs in (("small", small), ("large", large)):
            run = _main_process_cpu(root, inputs, settings, f"ceiling-{label}-{attempt}")
            if label not in best or run.user + run.system < best[label].user + best[label].system:
                best[label] = run
    extra = large.count - small.count
    user = (best["large"].user - best["small"].user) / extra
    system = (best["large"].system - best["small"].system) / extra
    whole = best["large"].user + best["large"].system
    return {
        "images_per_cpu_s": round(1 / max(user + system, 1e-9), 1),
        "user_ms_per_image": round(user * 1e3, 4),
        "system_ms_per_image": round(system * 1e3, 4),
        "whole_job_images_per_cpu_s": round(large.count / whole, 1),
        "whole_job_images": large.count,
        "job_start_cpu_s": round(whole - (user + system) * large.count, 3),  # forks, files (imports warm)
    }


def feeding_costs(root: Path, inputs, settings: StylizeSettings, name: str) -> dict:
    """What feeding a GPU costs the host, with real decoding and a free device: CPU seconds per
    image of the stylize job (main process + decode workers) and of the workflow's other stages
    (index, manifests, validate, pack), as host cores per 1,000 images/s; and the I/O per byte of
    the final shard across stylize, validate and pack."""
    from adain.stages.assign_styles import write_manifests
    from adain.stages.index_images import write_index

    preset = settings.get_preset()
    _import_decoders(inputs, settings)  # a job's one-off imports (~50 MB of modules) are not pixel I/O
    work = root / name / "tables"
    with _Measured() as index:
        write_index(inputs.content_dir, ["train"], work / "images.tsv", work / "classes.tsv", ["JPEG"])
        write_manifests(work / "images.tsv", ["p.jpg"], 0, inputs.count, work / "manifest")
    device = StandInDevice(0, settings.batch_size, preset.downsample, preset.size)
    run = run_shard(root, inputs, settings, name, device)
    count, stored = inputs.count, run["packed_bytes"]
    job = run["stylize"]
    job_cpu = job.user + job.system + job.children
    rest = index.user + index.system + sum(run[k].user + run[k].system for k in ("validate", "pack"))

    def per_byte(key: str, stage: str) -> float:
        return round(getattr(run[stage], key) / stored, 3)

    return {
        "job_ms_per_image": round(job_cpu / count * 1e3, 3),
        "job_main_ms_per_image": round((job.user + job.system) / count * 1e3, 3),
        "job_workers_ms_per_image": round(job.children / count * 1e3, 3),
        "workflow_rest_ms_per_image": round(rest / count * 1e3, 3),
        "host_cores_per_1000_images_per_s": round((job_cpu + rest) / count * 1e3, 2),
        "bytes_written_per_stored_byte": {s: per_byte("written", s) for s in ("stylize", "validate", "pack")},
        "bytes_read_per_stored_byte": {s: per_byte("read", s) for s in ("stylize", "validate", "pack")},
    }


def bench_preset(root: Path, preset: str, args) -> dict:
    quick = args.quick
    scale = (1 if quick else 4) * args.scale
    host_images = max(8, int({"sin": 1024, "64": 1024, "full": 128}[preset] * scale))
    model_images = max(2, int({"sin": 24, "64": 16, "full": 6}[preset] * scale))
    base = StylizeSettings.defaults(
        preset=preset,
        device="cpu",
        batch_size=args.batch_size,
        workers=args.workers,
        cpu_threads=torch.get_num_threads(),
    )  # checkpoints as configured by default
    real_inputs = job_inputs(root / preset / "real", model_images, preset)
    os.sync()  # earlier runs' dirty pages written out: the kernel's writeback does not compete
    real = run_shard(root / preset, real_inputs, replace(base, device=args.device), "real")

    host = job_inputs(root / preset / "host", host_images, preset)
    model = load_adain(host.vgg, host.decoder)
    costs = stage_costs(host, base, model, sample=min(64, host_images))
    downsample, size = base.get_preset().downsample, base.get_preset().size
    # the stand-in replaces the model: its jobs load no weights (method none), so a per-job start-up
    # does not pass for pipeline overlap (the real-model job below has it)
    standin_settings = replace(base, method="none")
    limits, frees, engines = [], [], []
    for attempt in range(args.repeat):  # alternated, best of each: this VM is noisy
        os.sync()
        limits.append(bare_rate(host, base, args.workers))
        frees.append(
            run_shard(
                root / preset,
                host,
                standin_settings,
                f"host{attempt}",
                StandInDevice(0, base.batch_size, downsample, size),
            )
        )
        engines.append(engine_rate(host, base, StandInDevice(0, base.batch_size, downsample, size)))
    limit, engine = max(limits), max(engines)
    free = max(frees, key=lambda r: r["images_per_s"])
    device_rate = args.device_share * limit
    standin = max(
        (
            run_shard(
                root / preset,
                host,
                standin_settings,
                f"standin{attempt}",
                StandInDevice(device_rate, base.batch_size, downsample, size),
            )
            for attempt in range(args.repeat)
        ),
        key=lambda r: r["images_per_s"],
    )
    costs.update(validate=free["validate_ms"], pack=free["pack_ms"])
    # the stages' own rates: decode + preprocess (bare), the device, and the host path with its writes
    # (the job with a free device); the slowest bounds what the overlapped job can achieve
    slowest = min(limit, device_rate, free["images_per_s"])

    compute_rate = 1000 / (costs["compute"] + costs["transfer"] + costs["copy_back"])
    return {
        "preset": preset,
        "images": host_images,
        "stage_ms_per_image": {k: round(v, 3) for k, v in costs.items()},
        "bare_decode_preprocess_images_per_s": round(limit, 1),
        "host_path_images_per_s": round(free["images_per_s"], 1),
        "host_ratio": round(free["images_per_s"] / limit, 3),
        "engine_images_per_s": round(engine, 1),
        "engine_host_ratio": round(engine / limit, 3),
        "host_images_per_s_per_core": round(free["images_per_s"] / args.workers, 1),
        "files_to_packed_images_per_s": round(free["files_to_packed_images_per_s"], 1),
        "standin_device_images_per_s": round(device_rate, 1),
        "standin_achieved_images_per_s": round(standin["images_per_s"], 1),
        "slowest_stage_images_per_s": round(slowest, 1),
        "overlap_efficiency": round(standin["images_per_s"] / slowest, 3),
        "cpu_model_images_per_s": round(real["images_per_s"], 3),
        "cpu_model_tflops": round(real["tflops"], 4),
        "cpu_model_compute_only_images_per_s": round(compute_rate, 3),
        "cpu_model_efficiency": round(real["images_per_s"] / compute_rate, 3),
    }


#: Images per preset of the host measurements (``--scale`` multiplies them): the serial ceiling
#: compares a job of these with one of three times as many; the other figures use these.
HOST_IMAGES = {"sin": 2048, "64": 2048, "full": 128}


def host_report(root: Path, preset: str, args) -> dict:
    """The host's figures of issue 33 for one preset: the serial ceiling (decoding free), the host
    cores per 1,000 images/s for each decode path, and the I/O per stored byte."""
    count = max(16, int(HOST_IMAGES[preset] * args.scale))
    inputs = job_inputs(root / preset / "host-inputs", count, preset)
    triple = job_inputs(root / preset / "host-inputs-3x", 3 * count, preset)
    base = StylizeSettings.defaults(
        preset=preset, device="cpu", batch_size=args.batch_size, workers=args.workers, method="none", decode="fast"
    )
    ceiling = serial_ceiling(root / preset, inputs, triple, base, repeat=3)
    feeding = {}
    for decode in ("fast", "exact", "device"):
        os.sync()
        feeding[decode] = feeding_costs(root / preset, inputs, replace(base, decode=decode), f"feed-{decode}")
    return {"preset": preset, "images": count, "serial_ceiling": ceiling, "feeding": feeding}


def print_host(reports: list[dict]) -> None:
    print(
        f"\n{'':<6}{'serial ceiling':>16}{'user ms':>9}{'sys ms':>8}{'whole job':>12}   host cores per 1,000 img/s (job + rest)"
    )
    for r in reports:
        c = r["serial_ceiling"]
        cores = "  ".join(
            f"{d} {f['host_cores_per_1000_images_per_s']:.2f} ({f['job_ms_per_image']:.2f}+{f['workflow_rest_ms_per_image']:.2f})"
            for d, f in r["feeding"].items()
        )
        print(
            f"{r['preset']:<6}{c['images_per_cpu_s']:>12.0f} /s{c['user_ms_per_image']:>9.4f}{c['system_ms_per_image']:>8.4f}"
            f"{c['whole_job_images_per_cpu_s']:>10.0f}/s   {cores}"
        )
    print("bytes written / read per stored byte (decode fast): stylize, validate, pack")
    for r in reports:
        f = r["feeding"]["fast"]
        written, read = f["bytes_written_per_stored_byte"], f["bytes_read_per_stored_byte"]
        print(
            f"{r['preset']:<6}written {written['stylize']:.2f} + {written['validate']:.2f} + {written['pack']:.2f}"
            f" = {sum(written.values()):.2f}; read {read['stylize']:.2f} + {read['validate']:.2f} + {read['pack']:.2f}"
            f" = {sum(read.values()):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer images (at most ~5 minutes on 2 cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--workers", type=int, default=2, help="decode processes (default 2: this VM's cores)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--device-share",
        type=float,
        default=0.5,
        help="stand-in device speed as a share of the bare decode limit (0.5: the device is clearly "
        "the slowest stage, the host keeps headroom on these 2 cores)",
    )
    parser.add_argument("--presets", default="sin,64,full")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="image counts times this (bench/gpu_check.py --tiny: 0.01)"
    )
    parser.add_argument("--device", default="cpu", help="the device of the real-model run (cpu | cuda | cuda:N)")
    parser.add_argument("--repeat", type=int, default=0, help="alternated runs, best kept (default 3, --quick 2)")
    parser.add_argument(
        "--host", action="store_true", help="only the host's figures: serial ceiling, cores per 1,000 img/s, I/O"
    )
    args = parser.parse_args()
    args.repeat = args.repeat or (2 if args.quick else 3)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        host = [host_report(Path(tmp), preset, args) for preset in args.presets.split(",")]
        if args.host:
            summary = {"machine": machine(), "command": "python bench/pipeline.py " + " ".join(sys.argv[1:])}
            summary.update(host={r["preset"]: r for r in host}, seconds=round(time.perf_counter() - started, 1))
            print(json.dumps(summary)) if args.json else (print(summary["machine"]), print_host(host))
            return
        results = [bench_preset(Path(tmp), preset, args) for preset in args.presets.split(",")]
    summary = {
        "machine": machine(),
        "command": "python bench/pipeline.py " + " ".join(sys.argv[1:]),
        "workers": args.workers,
        "overlap_efficiency": min(r["overlap_efficiency"] for r in results),
        "host_ratio": next((r["host_ratio"] for r in results if r["preset"] == "sin"), None),
        "presets": {r["preset"]: r for r in results},
        "host": {r["preset"]: r for r in host},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(summary["machine"])
    stages = list(results[0]["stage_ms_per_image"])
    print(f"{'ms per image (1 core)':<24}" + "".join(f"{s:>11}" for s in stages))
    for r in results:
        print(f"{r['preset']:<24}" + "".join(f"{r['stage_ms_per_image'][s]:>11.3f}" for s in stages))
    for r in results:
        print(
            f"\n{r['preset']}: bare decode+preprocess {r['bare_decode_preprocess_images_per_s']:.0f} img/s "
            f"({args.workers} processes); host path {r['host_path_images_per_s']:.0f} img/s "
            f"(host_ratio {r['host_ratio']:.2f}, {r['host_images_per_s_per_core']:.0f} img/s per core); "
            f"engine alone (no disk writes) {r['engine_images_per_s']:.0f} img/s ({r['engine_host_ratio']:.2f})"
        )
        print(
            f"  stand-in device {r['standin_device_images_per_s']:.0f} img/s: achieved "
            f"{r['standin_achieved_images_per_s']:.0f} img/s, slowest stage {r['slowest_stage_images_per_s']:.0f} "
            f"-> overlap efficiency {r['overlap_efficiency']:.2f}"
        )
        print(
            f"  real model on the CPU: {r['cpu_model_images_per_s']:.2f} img/s ({r['cpu_model_tflops']:.3f} TFLOP/s) "
            f"end to end vs {r['cpu_model_compute_only_images_per_s']:.2f} compute only -> {r['cpu_model_efficiency']:.2f}"
        )
    print_host(host)
    print(
        f"\noverlap_efficiency {summary['overlap_efficiency']:.2f} (target >= 0.9); "
        f"host_ratio {summary['host_ratio']:.2f} (target >= 0.8); {summary['seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()

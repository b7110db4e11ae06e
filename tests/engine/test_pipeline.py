"""The overlapped pipeline and its GPU-side behaviour, exercised on the CPU: the fast decode path's
fidelity, overlap of compute with the caller's work, out-of-memory splitting, device fallback,
channels_last / torch.compile / half-precision numerics, and FLOP counts."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from adain.core.flops import counted_gflop, encode_gflop, stylize_gflop
from adain.core.functional import adain_with_stats, calc_mean_std
from adain.core.model import load_adain
from adain.engine.device import resolve_device
from adain.engine.image_dataset import ImageDataset
from adain.engine.presets import get_preset
from adain.engine.stylizer import Flushed, Rejected, Stylized, Stylizer
from tests.conftest import photo

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "camera", "coins"]
IMAGENET_SIZES = [(500, 375), (375, 500), (500, 333), (640, 480), (300, 225)]


@pytest.fixture(scope="module")
def imagenet_like(tmp_path_factory):
    """JPEGs (q90) of real photos at ImageNet's common sizes, grey ones included."""
    folder = tmp_path_factory.mktemp("jpegs")
    paths = []
    for i, name in enumerate(PHOTOS):
        size = IMAGENET_SIZES[i % len(IMAGENET_SIZES)]
        path = folder / f"{name}.JPEG"
        photo(name, size=size).save(path, quality=90)
        paths.append(path)
    return paths


@pytest.mark.parametrize("preset", ["sin", "64", "full"])
def test_fast_decode_path_stays_within_one_level_of_pil(imagenet_like, preset, tmp_path):
    recipe = get_preset(preset).content
    png = tmp_path / "not_a_jpeg.JPEG"  # a PNG named .JPEG, and a CMYK JPEG: both go through PIL
    photo("coffee", size=(320, 240)).save(png, format="PNG")
    cmyk = tmp_path / "cmyk.JPEG"
    photo("chelsea", size=(320, 240)).convert("CMYK").save(cmyk)
    paths = [*imagenet_like, png, cmyk]
    fast, exact = ImageDataset(paths, recipe, decode="fast"), ImageDataset(paths, recipe, decode="exact")
    for i in range(len(paths)):
        _, a, _ = fast[i]
        _, b, _ = exact[i]
        assert a.shape == b.shape and a.dtype == b.dtype == torch.uint8
        diff = (a.int() - b.int()).abs()
        assert diff.max() <= 1 and diff.float().mean() <= 0.5, paths[i].name
        if preset != "sin":  # no tensor resize: decode_jpeg gives PIL's pixels, box runs on PIL
            assert diff.max() == 0


def test_fast_decode_rejects_what_pil_rejects(imagenet_like, tmp_path):
    truncated = tmp_path / "truncated.JPEG"
    truncated.write_bytes(imagenet_like[0].read_bytes()[:2000])
    huge = tmp_path / "huge.JPEG"
    Image.new("RGB", (500, 400)).save(huge)
    for decode in ("fast", "exact"):
        dataset = ImageDataset([truncated, huge], get_preset("sin").content, max_pixels=190_000, decode=decode)
        assert dataset[0][1] is None and "undecodable" in dataset[0][2]
        assert dataset[1][1] is None and dataset[1][2].startswith("too large: 500x400")


class SlowOp:
    """A stand-in device operation: a fixed cost per batch that releases the GIL (as a GPU does);
    records the thread and the batches it saw."""

    def __init__(self, seconds: float, fail_above: int | None = None, fail_side: int | None = None):
        self.seconds, self.fail_above, self.fail_side = seconds, fail_above, fail_side
        self.threads, self.sizes, self.started = set(), [], threading.Semaphore(0)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.threads.add(threading.get_ident())
        too_many = self.fail_above is not None and images.shape[0] > self.fail_above
        if too_many or (self.fail_side is not None and images.shape[-1] >= self.fail_side):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (stand-in)")
        self.sizes.append(images.shape[0])
        self.started.release()
        time.sleep(self.seconds)
        return 1 - images


def _contents(tmp_path, sizes):
    paths = []
    for i, (width, height) in enumerate(sizes):
        path = tmp_path / f"{i:02d}.png"
        photo(PHOTOS[i % len(PHOTOS)], size=(width, height)).save(path)
        paths.append(path)
    return paths


def test_the_device_computes_the_next_batch_while_the_caller_handles_one(tmp_path):
    paths = _contents(tmp_path, [(24, 24)] * 12)
    op = SlowOp(0.05)
    stylizer = Stylizer(None, device="cpu", batch_size=4, op=op)
    results = stylizer.stylize_dataset(
        ImageDataset(paths, get_preset("full").content), [[0]] * 12, {0: np.zeros((2, 512), np.float32)}, workers=1
    )
    first = next(r for r in results if isinstance(r, Stylized))
    # while the caller still holds the first batch's result, the next batches start computing
    assert op.started.acquire(timeout=10) and op.started.acquire(timeout=10), "no overlap: batch 2 never started"
    assert threading.get_ident() not in op.threads  # compute runs off the caller's thread
    rest = [first, *results]
    stylized = [r for r in rest if isinstance(r, Stylized)]
    assert sorted(r.index for r in stylized) == list(range(12))
    for result in stylized:  # the op's pixels, in the order of the files
        expected = 255 - np.asarray(Image.open(paths[result.index]).convert("RGB"))
        assert np.abs(result.image.astype(int) - expected).max() <= 1
    assert [r.consumed for r in rest if isinstance(r, Flushed)][-1] == 12


def test_out_of_memory_splits_the_batch_then_rejects_the_image_that_does_not_fit(tmp_path, caplog):
    sizes = [(24, 24)] * 5 + [(40, 24)] + [(24, 24)] * 2
    paths = _contents(tmp_path, sizes)
    op = SlowOp(0.0, fail_above=2, fail_side=40)
    stylizer = Stylizer(None, device="cpu", batch_size=8, op=op)
    with caplog.at_level(logging.WARNING, logger="adain.engine.stylizer"):
        results = list(
            stylizer.stylize_dataset(
                ImageDataset(paths, get_preset("full").content), [[0]] * 8, {0: np.zeros((2, 512), np.float32)}
            )
        )
    stylized = sorted(r.index for r in results if isinstance(r, Stylized))
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert stylized == [0, 1, 2, 3, 4, 6, 7]
    assert [r.index for r in rejected] == [5] and "out of memory on cpu for one 40x24 image" in rejected[0].reason
    assert max(op.sizes) <= 2 and sum(op.sizes) == 7  # split down to what fits
    assert "splitting the batch" in caplog.text


def test_device_auto_falls_back_to_the_cpu_with_a_warning_when_cuda_is_unusable(monkeypatch, caplog):
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        pytest.skip("a working GPU is here: the fallback cannot be provoked")
    # a machine whose driver claims a GPU that does not answer: CUDA calls fail for real here
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with caplog.at_level(logging.WARNING, logger="adain.engine.stylizer"):
        assert resolve_device("auto") == torch.device("cpu")
    assert "device auto: CUDA is unusable" in caplog.text and "running on the CPU" in caplog.text


@pytest.fixture(scope="module")
def model(weights):
    return load_adain(*weights)


def _batch(seed=0, size=40, count=3):
    generator = torch.Generator().manual_seed(seed)
    contents = torch.stack(
        [torch.from_numpy(np.asarray(photo(PHOTOS[i], size=(size, size)))).permute(2, 0, 1) for i in range(count)]
    )
    stats = torch.stack([torch.rand(512, generator=generator) * 2, torch.rand(512, generator=generator) + 0.5], 1)
    return contents, stats.T.reshape(1, 2, 512).repeat(count, 1, 1)


def test_channels_last_equals_the_default_layout(model):
    contents, stats = _batch()
    plain = Stylizer(model, device="cpu", batch_size=3, channels_last=False).stylize_float(contents, stats)
    last = Stylizer(model, device="cpu", batch_size=3, channels_last=True).stylize_float(contents, stats)
    assert (plain - last).abs().mean() <= 0.5 / 255 and (plain - last).abs().max() <= 2 / 255


def test_torch_compile_equals_eager(model):
    contents, stats = _batch(size=24, count=2)
    eager = Stylizer(model, device="cpu", batch_size=2).stylize_float(contents, stats)
    compiled = Stylizer(model, device="cpu", batch_size=2, compile=True).stylize_float(contents, stats)
    assert (eager - compiled).abs().mean() <= 0.5 / 255 and (eager - compiled).abs().max() <= 2 / 255


def test_adain_statistics_stay_float32_under_half_precision_autocast():
    generator = torch.Generator().manual_seed(1)
    feat = (torch.randn(2, 8, 6, 6, generator=generator) * 30 + 100).bfloat16()
    mean, std = torch.rand(2, 8, generator=generator), torch.rand(2, 8, generator=generator) + 0.1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = adain_with_stats(feat, mean, std)
    assert out.dtype == torch.bfloat16
    expected = adain_with_stats(feat.float(), mean, std).bfloat16()  # the same math in float32
    assert torch.equal(out, expected)
    half_stats = calc_mean_std(feat)[1]  # what half-precision statistics would have been
    assert not torch.equal(half_stats.float(), calc_mean_std(feat.float())[1])


def test_half_precision_runs_on_the_cpu_and_stays_close(model):
    contents, stats = _batch(size=32, count=2)
    full = Stylizer(model, device="cpu", batch_size=2).stylize_float(contents, stats)
    half = Stylizer(model, device="cpu", batch_size=2, dtype="bfloat16").stylize_float(contents, stats)
    assert half.dtype == torch.float32 and half.shape == full.shape
    assert (half - full).abs().mean() < 0.1  # drift is measured in bench/gpu.py, bounded here


def test_flop_count_is_the_sum_over_the_convolutions(model):
    """Independent count: 2 * Cin * Cout * k * k per output position of every convolution."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        total += (
            2
            * module.in_channels
            * module.out_channels
            * module.kernel_size[0]
            * module.kernel_size[1]
            * output.shape[0]
            * output.shape[2]
            * output.shape[3]
        )

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.rand(1, 3, 37, 53), torch.rand(1, 512), torch.rand(1, 512))
    finally:
        for hook in hooks:
            hook.remove()
    assert stylize_gflop(37, 53) == pytest.approx(total / 1e9, rel=1e-9)
    assert stylize_gflop(224, 224) == pytest.approx(48.44, abs=0.01)


@pytest.mark.parametrize("size", [(224, 224), (256, 256), (375, 500), (9, 13), (333, 64)])
def test_the_layer_table_count_equals_torch_flop_counter(size):
    assert stylize_gflop(*size) == pytest.approx(counted_gflop(*size), rel=1e-12)
    assert encode_gflop(*size) == pytest.approx(counted_gflop(*size, encode_only=True), rel=1e-12)


@pytest.mark.parametrize("preset", ["sin", "full"])
def test_device_decode_path_gives_the_fast_paths_pixels_on_the_cpu(imagenet_like, preset, tmp_path):
    """decode: device hands JPEG bytes to the compute device (nvJPEG on CUDA); on the CPU the same
    code decodes with libjpeg-turbo: the fast path's pixels exactly, rejects included."""
    png = tmp_path / "png_named.JPEG"
    photo("coffee", size=(320, 240)).save(png, format="PNG")  # not a JPEG: decoded in the worker
    truncated = tmp_path / "truncated.JPEG"
    truncated.write_bytes(imagenet_like[0].read_bytes()[:3000])  # its header passes, decoding fails
    paths = [*imagenet_like[:3], truncated, png, *imagenet_like[3:]]
    recipe = get_preset(preset).content
    outputs = {}
    for decode in ("fast", "device"):
        stylizer = Stylizer(None, device="cpu", batch_size=4, op=lambda images: images)
        results = list(
            stylizer.stylize_dataset(
                ImageDataset(paths, recipe, decode=decode),
                [[0]] * len(paths),
                {0: np.zeros((2, 512), np.float32)},
                workers=1,
            )
        )
        outputs[decode] = (
            {r.index: r.image for r in results if isinstance(r, Stylized)},
            {r.index: r.reason for r in results if isinstance(r, Rejected)},
        )
    (fast, fast_rejects), (device, device_rejects) = outputs["fast"], outputs["device"]
    assert sorted(fast) == sorted(device) == [i for i in range(len(paths)) if i != 3]
    for index in fast:
        np.testing.assert_array_equal(device[index], fast[index])
    assert list(fast_rejects) == list(device_rejects) == [3] and device_rejects[3].startswith("undecodable")


def _device_decode(paths, recipe, stylizer):
    results = list(
        stylizer.stylize_dataset(
            ImageDataset(paths, recipe, decode="device"), [[0]] * len(paths), {0: np.zeros((2, 512), np.float32)}
        )
    )
    return {r.index: r.image for r in results if isinstance(r, Stylized)}, [
        r for r in results if isinstance(r, Rejected)
    ]


def test_a_file_the_device_decoder_refuses_is_decoded_on_the_host(imagenet_like, monkeypatch):
    """nvJPEG refuses some valid JPEGs (arithmetic coding, odd colour spaces): injected here at the
    device's decoder, the file falls back to the host's decoder instead of being rejected."""
    recipe = get_preset("sin").content
    paths = imagenet_like[:4]
    refused = paths[2].read_bytes()
    stylizer = Stylizer(None, device="cpu", batch_size=4, op=lambda images: images)
    expected, _ = _device_decode(paths, recipe, stylizer)
    real = Stylizer._decode_on_device

    def picky(self, data):
        if any(bytes(d.numpy()) == refused for d in data):
            raise RuntimeError("Error while decoding JPEG images: nvjpegDecode failed: 4 (injected)")
        return real(self, data)

    monkeypatch.setattr(Stylizer, "_decode_on_device", picky)
    found, rejected = _device_decode(paths, recipe, stylizer)
    assert not rejected and sorted(found) == [0, 1, 2, 3]
    for index in found:
        np.testing.assert_array_equal(found[index], expected[index])


@pytest.mark.parametrize(
    "fault",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)"),
        RuntimeError("Error while decoding JPEG images: CUDA out of memory. Tried to allocate 8 MiB (injected)"),
    ],
)
def test_a_device_fault_while_decoding_stops_the_job_instead_of_rejecting_images(imagenet_like, monkeypatch, fault):
    """Out of memory (also wrapped in torchvision's decode error) is the device's fault, not the
    files': it is raised, not turned into a shard of rejects."""

    def broken(self, data):
        raise fault

    monkeypatch.setattr(Stylizer, "_decode_on_device", broken)
    stylizer = Stylizer(None, device="cpu", batch_size=4, op=lambda images: images)
    with pytest.raises(RuntimeError, match="out of memory"):
        _device_decode(imagenet_like[:4], get_preset("sin").content, stylizer)


def test_the_fast_path_imports_its_decoders_before_the_workers_fork():
    """Forked DataLoader workers inherit what the job imported: otherwise each worker of each job
    spends ~1.2 s importing torchvision. The exact path imports no torchvision at all."""
    import subprocess
    import sys

    check = (
        "import sys; from adain.engine.image_dataset import ImageDataset; from adain.engine.presets import get_preset; "
        "ImageDataset([], get_preset('{preset}').content, decode='{decode}').import_decoders(); "
        "print('torchvision.io' in sys.modules, 'torchvision' in sys.modules)"
    )
    for preset, decode, expected in [
        ("sin", "fast", "True True"),
        ("64", "device", "True True"),
        ("sin", "exact", "False False"),
    ]:
        result = subprocess.run(
            [sys.executable, "-c", check.format(preset=preset, decode=decode)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.strip() == expected, (preset, decode, result.stderr[-2000:])


def test_batched_runs_carry_the_per_image_outputs(imagenet_like):
    """``batched=True`` (what stylize jobs of fixed sizes use: slots, whole batches, one block of
    results each) gives exactly the per-image events' outputs and rejects."""
    from adain.engine.stylizer import StylizedRun

    paths = [*imagenet_like, imagenet_like[0].with_name("missing.JPEG")]
    stats = {0: np.zeros((2, 512), np.float32), 1: np.ones((2, 512), np.float32)}
    paintings = [[i % 2] for i in range(len(paths))]
    outputs = {}
    for batched in (False, True):
        stylizer = Stylizer(None, device="cpu", batch_size=4, op=lambda images: images.flip(-1))
        dataset = ImageDataset(paths, get_preset("sin").content, decode="fast")
        found, rejected = {}, []
        for result in stylizer.stylize_dataset(dataset, paintings, stats, workers=2, drain_every=4, batched=batched):
            if isinstance(result, StylizedRun):
                assert result.images.shape[0] == len(result.indices) == len(result.paintings)
                found.update({(i, p): image for i, p, image in zip(result.indices, result.paintings, result.images)})
            elif isinstance(result, Stylized):
                found[(result.index, result.painting)] = result.image
            elif isinstance(result, Rejected):
                rejected.append(result.index)
        outputs[batched] = found, rejected
    (one, one_rejected), (runs, runs_rejected) = outputs[False], outputs[True]
    assert one.keys() == runs.keys() and len(one) == len(paths) - 1
    assert one_rejected == runs_rejected == [len(paths) - 1]
    for key in one:
        np.testing.assert_array_equal(one[key], runs[key])

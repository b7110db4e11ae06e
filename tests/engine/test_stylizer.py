from pathlib import Path

import numpy as np
import pytest
import torch

from adain.core.functional import adain_with_stats, calc_mean_std
from adain.core.model import load_adain
from adain.engine.cache import StatsCache
from adain.engine.device import quantize
from adain.engine.image_dataset import ImageDataset
from adain.engine.images import Preprocess
from adain.engine.stylizer import Flushed, Rejected, Stylized, Stylizer
from tests.reference_adain import ReferenceStylizer

STYLE_RECIPE = Preprocess("resize-crop", size=64)  # small paintings keep the CPU tests quick


@pytest.fixture(scope="module")
def model(weights):
    return load_adain(*weights)


def _run(stylizer, contents, paintings, stats, **kwargs):
    results = list(stylizer.stylize_dataset(ImageDataset(contents, Preprocess()), paintings, stats, **kwargs))
    return {(r.index, r.painting): r.image for r in results if isinstance(r, Stylized)}


def _stats(stylizer, paths, cache=None):
    stats, rejected = stylizer.painting_stats(paths, STYLE_RECIPE, cache or StatsCache(None, "x", "y"))
    assert not rejected
    return stats


def test_matches_the_per_image_reference(weights, model, content_dir, style_dir):
    contents, styles = sorted(content_dir.rglob("*.*")), sorted(style_dir.iterdir())
    stylizer = Stylizer(model, device="cpu", batch_size=4)
    paintings = [[i % len(styles), (i + 1) % len(styles)] for i in range(len(contents))]
    outputs = _run(stylizer, contents, paintings, _stats(stylizer, styles), alpha=0.8)
    assert len(outputs) == 2 * len(contents)
    reference = ReferenceStylizer(*weights)
    for (index, painting), image in outputs.items():
        expected = reference(contents[index], styles[painting], alpha=0.8, style_size=64)
        height, width = image.shape[:2]
        assert expected.shape[:2] == (-(-height // 8) * 8, -(-width // 8) * 8)  # the reference's padded size
        diff = np.abs(image.astype(float) - expected[:height, :width]).mean()
        assert diff <= 0.5, f"{contents[index].name} x {styles[painting].name}: mean |diff| {diff:.3f}/255"
        assert image.std() > 10  # not degenerate


def test_batched_equals_one_by_one(model, content_dir, style_dir):
    contents, styles = sorted(content_dir.rglob("*.*")), sorted(style_dir.iterdir())
    paintings = [[i % len(styles)] for i in range(len(contents))]
    one = Stylizer(model, device="cpu", batch_size=1)
    many = Stylizer(model, device="cpu", batch_size=8)
    single = _run(one, contents, paintings, _stats(one, styles))
    batched = _run(many, contents, paintings, _stats(many, styles), workers=2)
    assert single.keys() == batched.keys()
    # Convolution kernels chosen per batch size round differently in the last float bit; after
    # quantization that flips a rare pixel by one level, never more.
    for key in single:
        diff = np.abs(single[key].astype(int) - batched[key])
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_cached_statistics_equal_uncached(model, style_dir, tmp_path):
    styles = sorted(style_dir.iterdir())
    stylizer = Stylizer(model, device="cpu")
    fresh = _stats(stylizer, styles)
    cache = StatsCache(tmp_path / "cache", model.weights.vgg_sha256, STYLE_RECIPE.key)
    first = _stats(stylizer, styles, cache)
    assert cache.misses == len(styles) and cache.hits == 0
    reuse = StatsCache(tmp_path / "cache", model.weights.vgg_sha256, STYLE_RECIPE.key)
    second = _stats(stylizer, styles, reuse)
    assert reuse.hits == len(styles) and reuse.misses == 0
    for i in fresh:
        np.testing.assert_array_equal(fresh[i], first[i])
        np.testing.assert_array_equal(fresh[i], second[i])
    # another recipe or other weights never hit
    assert StatsCache(tmp_path / "cache", model.weights.vgg_sha256, "other").get(styles[0]) is None
    assert StatsCache(tmp_path / "cache", "0" * 64, STYLE_RECIPE.key).get(styles[0]) is None


def test_corrupt_cache_entry_is_discarded(model, style_dir, tmp_path):
    styles = sorted(style_dir.iterdir())[:1]
    stylizer = Stylizer(model, device="cpu")
    cache = StatsCache(tmp_path, model.weights.vgg_sha256, STYLE_RECIPE.key)
    good = _stats(stylizer, styles, cache)[0]
    (entry,) = list(tmp_path.rglob("*.stats"))
    intact = entry.read_bytes()
    entry.write_bytes(intact[:50])  # torn
    cache = StatsCache(tmp_path, model.weights.vgg_sha256, STYLE_RECIPE.key)
    assert cache.get(styles[0]) is None and not entry.exists() and cache.corrupt == 1
    np.testing.assert_array_equal(_stats(stylizer, styles, cache)[0], good)
    flipped = bytearray(intact)
    flipped[100] ^= 0x10  # one bit of one statistic: still a well-formed float
    entry.write_bytes(bytes(flipped))
    cache = StatsCache(tmp_path, model.weights.vgg_sha256, STYLE_RECIPE.key)
    assert cache.get(styles[0]) is None and not entry.exists() and cache.corrupt == 1
    np.testing.assert_array_equal(_stats(stylizer, styles, cache)[0], good)
    assert entry.read_bytes() == intact  # recomputed and stored again


def test_alpha_zero_is_decoder_of_encoder(model, content_dir, style_dir):
    contents, styles = sorted(content_dir.rglob("*.*"))[:2], sorted(style_dir.iterdir())
    stylizer = Stylizer(model, device="cpu")
    outputs = _run(stylizer, contents, [[0], [1]], _stats(stylizer, styles), alpha=0.0)
    for index, path in enumerate(contents):
        content = ImageDataset([path], Preprocess())[0][1]
        with torch.no_grad():
            decoded = model.decode(model.encode(content[None].float() / 255))[
                ..., : content.shape[1], : content.shape[2]
            ]
        np.testing.assert_array_equal(outputs[(index, index)], quantize(decoded)[0].permute(1, 2, 0).numpy())


def test_adain_features_carry_the_painting_statistics(model, content_dir, style_dir):
    stylizer = Stylizer(model, device="cpu")
    stats = _stats(stylizer, sorted(style_dir.iterdir()))
    content = ImageDataset(sorted(content_dir.rglob("*.*"))[:1], Preprocess())[0][1]
    with torch.no_grad():
        feats = model.encode(content[None].float() / 255)
        style = torch.from_numpy(stats[2])
        mean, std = calc_mean_std(adain_with_stats(feats, style[0][None], style[1][None]), eps=0)
    torch.testing.assert_close(mean.flatten(), style[0], atol=1e-3, rtol=1e-4)
    # std is the painting's, shrunk by sqrt(var / (var + eps)) (0 for channels that are dead in the content)
    content_var = feats.flatten(2).var(dim=2).flatten()
    expected_std = style[1] * torch.sqrt(content_var / (content_var + 1e-5))
    torch.testing.assert_close(std.flatten(), expected_std, atol=1e-2, rtol=1e-3)
    live = content_var > 1e-2
    assert live.sum() > 256
    torch.testing.assert_close(std.flatten()[live], style[1][live], atol=1e-2, rtol=1e-3)


def test_unreadable_inputs_are_reported_not_raised(model, style_dir, tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "html.JPEG").write_text("<html>not an image</html>")
    stylizer = Stylizer(model, device="cpu")
    stats, rejected = stylizer.painting_stats(
        [tmp_path / "empty.jpg", *sorted(style_dir.iterdir())], STYLE_RECIPE, StatsCache(None, "x", "y")
    )
    assert set(rejected) == {0} and "empty file" in rejected[0] and set(stats) == {1, 2, 3}
    results = list(stylizer.stylize_dataset(ImageDataset([tmp_path / "html.JPEG"], Preprocess()), [[1]], stats))
    assert isinstance(results[0], Rejected) and "undecodable" in results[0].reason
    assert all(isinstance(r, Flushed) for r in results[1:])


def test_bad_device_and_dtype_are_clear(model):
    with pytest.raises((RuntimeError, ValueError), match="cuda|CUDA"):
        Stylizer(model, device="cuda:7") if not torch.cuda.is_available() else Stylizer(model, device="cuda:99")
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        Stylizer(model, device="cpu", dtype="float8")


_NUMERICS_PROBE = """
import torch
from adain.engine.device import exact_numerics

b = torch.backends
before = (b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic)
with exact_numerics(torch.device("cuda:0")):
    inside = (b.cudnn.conv.fp32_precision, b.cuda.matmul.fp32_precision, b.cudnn.benchmark, b.cudnn.deterministic)
with exact_numerics("cpu"):
    on_cpu = b.cudnn.conv.fp32_precision
after = (b.cudnn.allow_tf32, b.cuda.matmul.allow_tf32, b.cudnn.benchmark, b.cudnn.deterministic)
with torch.backends.cudnn.flags(enabled=True, deterministic=False):
    flags_usable = True
print(repr((before, inside, on_cpu, after, flags_usable)))
"""


def test_cuda_work_is_ieee_float32_and_deterministic_and_leaves_the_process_as_it_was():
    """The identity of a CUDA shard says TF32 is off and cuDNN deterministic; ``exact_numerics`` is
    what makes it true, for every CUDA entry point. In a fresh process (these settings are global):
    inside the block IEEE float32, no benchmark, deterministic; after it the legacy flags read as
    before and ``cudnn.flags()`` still works (torch refuses both once the two APIs are mixed)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _NUMERICS_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    before, inside, on_cpu, after, flags_usable = eval(result.stdout.strip().splitlines()[-1])  # noqa: S307
    assert inside == ("ieee", "ieee", False, True)
    assert on_cpu == "tf32"  # nothing changes for other devices (torch's default stays)
    assert after == before and flags_usable


def test_batches_are_cut_up_front_to_fit_the_memory_budget(model):
    """A budget for two 32x32 images at a time: batches of 8 go in pieces of 2, with the pixels
    of the uncut run (on the CPU the batch size never changes pixels)."""
    from adain.core.memory import bytes_per_image

    contents = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    stats = torch.rand(8, 2, 512) + 0.1
    whole = Stylizer(model, device="cpu", batch_size=8)
    budget = 2.5 * bytes_per_image(32, 32, 4)
    cut = Stylizer(model, device="cpu", batch_size=8, memory_budget=budget)
    assert (whole.batch_limit(32, 32), cut.batch_limit(32, 32), cut.batch_limit(9, 9)) == (8, 2, 8)
    seen = []
    forward = cut.stylize_float
    cut.stylize_float = lambda content, *args: seen.append(len(content)) or forward(content, *args)
    pieces = cut.compute_batch(contents, stats)
    assert seen == [2, 2, 2, 2] and [offset for offset, _ in pieces] == [0, 2, 4, 6]
    expected = whole.compute_batch(contents, stats)[0][1]
    assert torch.equal(torch.cat([pixels for _, pixels in pieces]), expected)


def test_an_out_of_memory_split_shard_equals_the_unsplit_one_and_retries_outside_the_handler(
    tmp_path, monkeypatch, caplog
):
    """Out of memory injected where the device runs a batch (more than 2 images do not fit): the
    shard equals the unsplit one, and no retry runs while the error is still being handled (its
    traceback would keep the failed pass's memory)."""
    import logging
    import sys

    from adain.shards.format import read_shard
    from adain.stages.settings import StylizeSettings
    from adain.stages.stylize_shard import stylize_shard

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from common import job_inputs

    job = job_inputs(tmp_path / "job", 8, "sin")
    settings = StylizeSettings.defaults(preset="sin", device="cpu", batch_size=8, workers=0, cpu_threads=2)

    def stylize(out):
        stylize_shard(job.manifest, job.stats_h5, job.content_dir, job.vgg, job.decoder, out, settings)
        return read_shard(out).images

    whole = stylize(tmp_path / "whole.h5")
    forward, calls = Stylizer.stylize_float, []

    def device_boundary(self, content, *args):
        calls.append((len(content), sys.exc_info()[0]))
        if len(content) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB (injected)")
        return forward(self, content, *args)

    monkeypatch.setattr(Stylizer, "stylize_float", device_boundary)
    with caplog.at_level(logging.WARNING, logger="adain.engine.stylizer"):
        split = stylize(tmp_path / "split.h5")
    assert [size for size, _ in calls] == [8, 4, 2, 2, 4, 2, 2]
    assert all(handling is None for _, handling in calls), calls
    assert "splitting the batch" in caplog.text
    assert len(split) == len(whole) == 8 and np.array_equal(split, whole)

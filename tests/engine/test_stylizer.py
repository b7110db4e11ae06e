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


def test_float32_on_cuda_means_ieee_float32_not_tf32():
    """The identity of a shard says TF32 is off on CUDA; this is what makes it true."""
    from adain.engine.device import disable_tf32

    before = torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
    try:
        torch.backends.cudnn.conv.fp32_precision = "tf32"
        disable_tf32()
        assert torch.backends.cudnn.conv.fp32_precision == "ieee" == torch.backends.cuda.matmul.fp32_precision
    finally:
        torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision = before

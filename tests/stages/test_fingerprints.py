"""Which settings decide a shard's bytes: those that change pixels change the dataset's
fingerprint; where and how fast a job works never does."""

from dataclasses import replace

import pytest

from adain.stages.fingerprints import pack_fingerprint, shard_fingerprint, stylization_fingerprint
from adain.stages.settings import PackSettings, StylizeSettings

WEIGHTS = {"vgg": "a" * 64, "decoder": "b" * 64}


def _fingerprint(settings: StylizeSettings, device: str = "cpu", stats: str = "s1") -> str:
    return stylization_fingerprint(settings.identity(device, WEIGHTS, stats))


@pytest.mark.parametrize(
    "speed",
    [{"workers": 7}, {"checkpoint_images": 3}, {"checkpoint_seconds": 1.0}, {"batch_size": 3}, {"device": "cpu"}],
)
def test_speed_settings_leave_the_fingerprint_alone(speed):
    base = StylizeSettings.defaults()
    assert _fingerprint(replace(base, **speed)) == _fingerprint(base)


@pytest.mark.parametrize(
    "pixels",
    [
        {"alpha": 0.5},
        {"dtype": "bfloat16"},
        {"preset": "64"},
        {"cpu_threads": 3},  # CPU sums depend on the thread count
        {"decode": "exact"},
        {"channels_last": False},
        {"preserve_color": True},
        {"max_pixels": 1000},
    ],
)
def test_settings_that_change_pixels_change_it(pixels):
    base = StylizeSettings.defaults()
    assert _fingerprint(replace(base, **pixels)) != _fingerprint(base)


def test_on_cuda_the_batch_size_counts_and_the_threads_do_not():
    base = StylizeSettings.defaults()
    assert _fingerprint(replace(base, batch_size=3), "cuda") != _fingerprint(base, "cuda")
    assert _fingerprint(replace(base, cpu_threads=3), "cuda") == _fingerprint(base, "cuda")
    assert _fingerprint(base, "cuda") != _fingerprint(base, "cpu")


def test_weights_statistics_and_manifest_each_count():
    identity = StylizeSettings.defaults().identity("cpu", WEIGHTS, "s1")
    assert stylization_fingerprint(identity) != _fingerprint(StylizeSettings.defaults(), stats="s2")
    other = StylizeSettings.defaults().identity("cpu", {**WEIGHTS, "decoder": "c" * 64}, "s1")
    assert stylization_fingerprint(other) != stylization_fingerprint(identity)
    dataset = stylization_fingerprint(identity)
    assert shard_fingerprint(dataset, "m1") != shard_fingerprint(dataset, "m2")


def test_a_filter_ignores_the_adain_settings_and_records_its_parameters():
    gaussian = StylizeSettings.defaults(method="gaussian", method_params={"sigma": 2.0})
    identity = gaussian.identity("cpu", None, None)
    assert identity["alpha"] is None and identity["weights_sha256"] is None and identity["stats_digest"] is None
    assert identity["method_params"]["sigma"] == 2.0 and "kernel_size" in identity["method_params"]  # defaults filled
    assert _fingerprint(replace(gaussian, alpha=0.3)) == _fingerprint(gaussian)
    assert "preserve_color" not in StylizeSettings.defaults().identity("cpu", WEIGHTS, "s1")  # old shards stay current


def test_packing_is_a_second_identity():
    assert PackSettings(None).fingerprint() == pack_fingerprint("", 1)
    assert PackSettings("gzip").fingerprint() != PackSettings(None).fingerprint()


def test_the_stylization_fingerprint_is_the_value_shards_called_dataset_fingerprint():
    """Renamed for what it covers (docs/resume.md): equal for two seeds; the shards' own fingerprints differ by
    their manifests; the value is the one shards made before carry as `dataset_fingerprint`."""
    from adain.stages.fingerprints import dataset_fingerprint, digest, recorded_stylization

    identity = StylizeSettings.defaults().identity("cpu", WEIGHTS, "s1")
    assert stylization_fingerprint(identity) == dataset_fingerprint(identity) == digest(identity)
    value = stylization_fingerprint(identity)
    assert recorded_stylization({"dataset_fingerprint": value}) == value
    assert recorded_stylization({"stylization_fingerprint": value.encode()}) == value
    assert recorded_stylization({}) == ""

"""StyleAugment: on-the-fly AdaIN equals the offline pipeline, leaves -1 rows alone, repeats with
its generator, and reads a run's stats.h5."""

import h5py
import numpy as np
import pytest
import torch

from adain.core.model import load_adain
from adain.engine.augment import StyleAugment
from adain.engine.cache import StatsCache
from adain.engine.images import Preprocess
from adain.engine.stylizer import Stylizer
from tests.conftest import photo, write_paintings


@pytest.fixture(scope="module")
def bank(weights, tmp_path_factory):
    """Statistics of three paintings, made by the offline pipeline."""
    stylizer = Stylizer(load_adain(*weights), device="cpu", batch_size=2)
    paths = write_paintings(tmp_path_factory.mktemp("paintings"))
    stats, rejected = stylizer.painting_stats(paths, Preprocess("resize-crop", 64), StatsCache(None, "x", "y"))
    assert not rejected
    return torch.from_numpy(np.stack([stats[i] for i in range(len(paths))]))


def _contents(size=(48, 40)):
    return torch.stack(
        [
            torch.from_numpy(np.array(photo(name, size=size))).permute(2, 0, 1)
            for name in ("astronaut", "chelsea", "coffee", "rocket")
        ]
    )


def test_with_given_rows_it_equals_the_offline_pipeline(weights, bank):
    contents = _contents()
    rows = torch.tensor([2, 0, 1, 2])
    augment = StyleAugment(*weights, bank, p=1.0, alpha=1.0)
    online = augment(contents.float() / 255, rows)
    offline = Stylizer(load_adain(*weights), device="cpu", batch_size=4).stylize_float(contents, bank[rows]).clamp(0, 1)
    assert online.shape == contents.shape and online.dtype == torch.float32
    assert (online - offline).abs().max() <= 0.5 / 255


def test_minus_one_rows_are_left_unchanged_and_p_zero_is_the_identity(weights, bank):
    images = _contents().float() / 255
    augment = StyleAugment(*weights, bank, p=0.0)
    assert torch.equal(augment(images), images)
    out = StyleAugment(*weights, bank, p=1.0)(images, torch.tensor([-1, 1, -1, 0]))
    assert torch.equal(out[[0, 2]], images[[0, 2]])
    assert (out[[1, 3]] - images[[1, 3]]).abs().mean() > 0.02 and out.min() >= 0 and out.max() <= 1


def test_draws_repeat_with_the_generator_and_alpha_ranges_are_per_sample(weights, bank):
    images = _contents().float() / 255

    def run(seed):
        augment = StyleAugment(*weights, bank, p=0.5, alpha=(0.2, 0.9), generator=torch.Generator().manual_seed(seed))
        return augment(images), StyleAugment(
            *weights, bank, p=0.5, alpha=(0.2, 0.9), generator=torch.Generator().manual_seed(seed)
        ).draw(64)

    (first, (rows, alphas)), (again, _) = run(7), run(7)
    assert torch.equal(first, again)
    assert ((rows >= -1) & (rows < len(bank))).all() and 10 < (rows >= 0).sum() < 54  # about half stylized
    assert ((alphas >= 0.2) & (alphas <= 0.9)).all() and alphas.std() > 0.1
    assert not torch.equal(run(8)[0], first)


def test_reads_a_runs_stats_h5_and_names_its_rows(weights, bank, tmp_path):
    path = tmp_path / "stats.h5"
    with h5py.File(path, "w") as handle:  # the layout of adain.stages.paintings.merge_stats
        handle.create_dataset(
            "names", data=np.array(["a.jpg", "b.jpg", "c.jpg"], dtype=object), dtype=h5py.string_dtype("utf-8")
        )
        handle.create_dataset("stats", data=bank.numpy())
    augment = StyleAugment(*weights, path, p=1.0)
    assert augment.names == ["a.jpg", "b.jpg", "c.jpg"] and torch.equal(augment.bank, bank)


def test_bad_arguments_are_clear(weights, bank):
    with pytest.raises(ValueError, match=r"\(N, 2, 512\)"):
        StyleAugment(*weights, torch.zeros(3, 512))
    with pytest.raises(ValueError, match="p must lie in"):
        StyleAugment(*weights, bank, p=1.5)
    with pytest.raises(ValueError, match="alpha must be"):
        StyleAugment(*weights, bank, alpha=(0.9, 0.1))
    with pytest.raises(FileNotFoundError, match="stats.h5"):
        StyleAugment(*weights, "missing/stats.h5")
    with pytest.raises(ValueError, match="rows of the bank"):
        StyleAugment(*weights, bank)(_contents().float() / 255, torch.tensor([0, 1, 2, 3]))

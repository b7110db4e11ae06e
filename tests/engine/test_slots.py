"""Decode workers writing into shared slots: the DataLoader's batches, a slot reused only once
released, and a worker's failure or death raised by name."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from adain.engine.image_dataset import ImageDataset, iterate_batches, run_bounds
from adain.engine.images import Preprocess
from adain.engine.slots import SlotLoader
from tests.conftest import photo

RECIPE = Preprocess("resize-crop", size=40, crop=32)  # one fixed size: the slot path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slots")
    names = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "cat", "moon", "page", "text"]
    paths = []
    for i, name in enumerate(names):
        path = folder / f"{i:02d}.png"
        photo(name, size=(48 + 3 * i, 44 + 2 * i)).save(path)
        paths.append(path)
    (folder / "empty.png").write_bytes(b"")  # a reject among them
    return paths[:4] + [folder / "empty.png"] + paths[4:]


def _as_lists(batches) -> list:
    found = []
    for batch in batches:
        found.append(
            (
                batch.start,
                batch.stop,
                [(list(i), x.clone()) for i, x in batch.groups],
                [(i, r.split(":")[0]) for i, r in batch.rejected],
            )
        )
        if batch.release is not None:
            batch.release()
    return found


def test_slots_give_the_dataloaders_batches(files):
    dataset = ImageDataset(files, RECIPE, decode="fast")
    by_slots = _as_lists(iterate_batches(dataset, 4, workers=2))
    by_loader = _as_lists(iterate_batches(dataset, 4, workers=0))  # in this process: the DataLoader
    assert len(by_slots) == len(by_loader) == 3
    for (s0, e0, groups0, rejected0), (s1, e1, groups1, rejected1) in zip(by_slots, by_loader):
        assert (s0, e0, rejected0) == (s1, e1, rejected1)
        assert [i for i, _ in groups0] == [i for i, _ in groups1]
        for (_, a), (_, b) in zip(groups0, groups1):
            assert torch.equal(a, b)
    assert by_slots[1][3] == [(4, "undecodable")]


def test_a_slot_is_given_out_again_only_once_released(files):
    dataset = ImageDataset(files, RECIPE, decode="fast")
    bounds = run_bounds(len(dataset), 2)
    with SlotLoader(dataset, bounds, (32, 32), workers=1, slots=2) as loader:
        batches = iter(loader)
        first, second = next(batches), next(batches)
        with pytest.raises(RuntimeError, match="all 2 decode slots are held"):
            next(batches)
    with SlotLoader(dataset, bounds, (32, 32), workers=1, slots=2) as loader:
        batches = iter(loader)
        first, second = next(batches), next(batches)
        kept = second.groups[0][1].clone()
        first.release()
        third = next(batches)  # decoded into the first's slot, while the second's stays as it was
        assert torch.equal(second.groups[0][1], kept)
        assert (third.start, third.groups[0][0], third.rejected[0][0]) == (4, [5], 4)  # 4 is the empty file
        expected = torch.stack([dataset[i][1] for i in third.groups[0][0]])
        assert torch.equal(third.groups[0][1], expected)


class _Broken(ImageDataset):
    def __getitem__(self, index):
        if index == 3:
            raise ZeroDivisionError("a bug in decoding")
        return super().__getitem__(index)


def test_a_workers_error_is_raised_in_the_job(files):
    dataset = _Broken(files, RECIPE, decode="fast")
    with pytest.raises(RuntimeError, match="a decode worker failed:(.|\n)*ZeroDivisionError: a bug in decoding"):
        _as_lists(iterate_batches(dataset, 2, workers=2))


class _Slow(ImageDataset):
    def __getitem__(self, index):
        if index == 4:
            os.kill(os.getpid(), signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
        return super().__getitem__(index)


def test_a_worker_that_dies_is_named_instead_of_waited_for(files):
    dataset = _Slow(files, RECIPE, decode="fast")
    with pytest.raises(RuntimeError, match=r"a decode worker \(pid \d+\) ended unexpectedly \(exit code -9\)"):
        _as_lists(iterate_batches(dataset, 2, workers=1))


def test_the_pool_is_shared_memory_the_workers_write_into(files):
    """No batch is sent: the worker writes the pixels into the slot the job reads."""
    dataset = ImageDataset(files[:4], RECIPE, decode="fast")
    with SlotLoader(dataset, [0, 4], (32, 32), workers=1, slots=1) as loader:
        batch = next(iter(loader))
        pool = loader.pool
        assert batch.groups[0][1].data_ptr() == pool[0].data_ptr()
        assert np.array_equal(batch.groups[0][1].numpy(), torch.stack([dataset[i][1] for i in range(4)]).numpy())

"""Decode workers that write straight into a fixed pool of shared memory slots.

A DataLoader hands each decoded batch to the main process as a new shared-memory file: a socket
connection to the worker (with an authentication handshake), a file descriptor, a mapping, page
faults as it is read, an unmapping. For 224x224 images that cost the stylize job's main process
about as much as everything else it does per image together (``bench/pipeline.py``, serial
ceiling). Here the pool of slots is mapped once, before the workers fork, and shared with them:
a worker decodes run ``k`` of the images into the slot it was given, and only the slot's number,
the kept items and the rejects travel back through a pipe. On CUDA the pool is page-locked once
(``cudaHostRegister``), so batches copy to the device straight from it, with no pinning copy.

A slot is given out again only once the consumer has released the batch that occupies it
(:attr:`adain.engine.image_dataset.ImageBatch.release`): after the device is done reading it.

Only for images of one fixed size (``sin``, ``64``); other batches go through the DataLoader.
"""

from __future__ import annotations

import logging
import mmap
import multiprocessing
import os
import queue
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .image_dataset import ImageBatch, ImageDataset

__all__ = ["SlotLoader", "slots_supported"]

log = logging.getLogger(__name__)

#: Seconds between checks that the decode workers are alive while waiting for one.
_POLL = 1.0


def slots_supported() -> bool:
    """Slots need workers that inherit the pool's mapping: a ``fork`` start method (Linux)."""
    return "fork" in multiprocessing.get_all_start_methods()


class SlotLoader:
    """:class:`ImageBatch` es of ``dataset`` over ``bounds``, decoded by ``workers`` processes into
    ``slots`` shared buffers of ``(max run, 3, H, W)``; iterate it once, within ``with``.

    Args:
        dataset: its every image, once preprocessed, is ``uint8 (3, *shape)``.
        bounds: run ``k`` is items ``bounds[k]:bounds[k + 1]``.
        shape: ``(H, W)`` of every image.
        pin: page-lock the pool for asynchronous copies to CUDA.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        bounds: Sequence[int],
        shape: tuple[int, int],
        workers: int,
        slots: int,
        pin: bool = False,
    ) -> None:
        if workers < 1 or slots < 1:
            raise ValueError("a slot loader needs at least one worker and one slot")
        self.dataset, self.bounds, self.workers = dataset, list(bounds), workers
        run = max((b - a for a, b in zip(self.bounds, self.bounds[1:])), default=1)
        self.slot_shape = (run, 3, *shape)
        size = slots * run * 3 * shape[0] * shape[1]
        self._memory = mmap.mmap(-1, max(1, size))  # MAP_SHARED | MAP_ANONYMOUS: the workers inherit it
        self.pool = torch.frombuffer(self._memory, dtype=torch.uint8, count=size).view(slots, *self.slot_shape)
        self._free = list(range(slots))
        self._pin = pin
        self._registered = False
        self._processes: list = []
        self._tasks = self._results = None

    def __enter__(self) -> SlotLoader:
        context = multiprocessing.get_context("fork")
        self._tasks, self._results = context.Queue(), context.Queue()
        parent = os.getpid()
        for _ in range(self.workers):
            process = context.Process(
                target=_work, args=(self.dataset, self.bounds, self.pool, self._tasks, self._results, parent)
            )
            process.daemon = True
            process.start()
            self._processes.append(process)
        if self._pin:  # after the fork: the workers must not inherit a CUDA context
            self._registered = _register(self.pool)
        return self

    def __exit__(self, *exc) -> None:
        for _ in self._processes:
            self._tasks.put(None)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for channel in (self._tasks, self._results):
            channel.close()
            channel.join_thread()
        if self._registered:
            torch.cuda.cudart().cudaHostUnregister(self.pool.data_ptr())
            self._registered = False

    def __iter__(self) -> Iterator[ImageBatch]:
        from .image_dataset import ImageBatch

        runs, submitted, done = len(self.bounds) - 1, 0, {}
        for k in range(runs):
            while submitted < runs and self._free:
                self._tasks.put((submitted, self._free.pop()))
                submitted += 1
            if submitted <= k:  # every slot holds a batch nobody released: waiting would never end
                raise RuntimeError(f"all {len(self.pool)} decode slots are held: release the batches read")
            while k not in done:
                message = self._receive()
                done[message[0]] = message
            _, slot, kept, rejected, odd = done.pop(k)
            groups = [(kept, self.pool[slot, : len(kept)])] if kept else []
            groups += [([index], image[None]) for index, image in odd]
            yield ImageBatch(self.bounds[k], self.bounds[k + 1], groups, rejected, release=_Release(self._free, slot))

    def _receive(self) -> tuple:
        """The next finished run from any worker; a worker's error is raised here, and a worker
        that died (killed, out of memory) is named instead of waited for."""
        while True:
            try:
                message = self._results.get(timeout=_POLL)
            except queue.Empty:
                dead = [p for p in self._processes if not p.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"a decode worker (pid {dead[0].pid}) ended unexpectedly (exit code {dead[0].exitcode})"
                    ) from None
                continue
            if message[0] == "error":
                raise RuntimeError(f"a decode worker failed:\n{message[1]}")
            return message


class _Release:
    """Gives a batch's slot back to the pool (once)."""

    def __init__(self, free: list[int], slot: int) -> None:
        self.free, self.slot = free, slot

    def __call__(self) -> None:
        if self.slot is not None:
            self.free.append(self.slot)
            self.slot = None


def _register(pool: torch.Tensor) -> bool:
    """Page-lock the pool for the CUDA driver; a failure leaves it pageable (slower copies)."""
    try:
        code = torch.cuda.cudart().cudaHostRegister(pool.data_ptr(), pool.numel(), 0)
    except Exception as error:  # noqa: BLE001 - no CUDA runtime: the copies stay synchronous
        log.warning("could not page-lock the decode slots (%s); copies to the GPU wait for the host", error)
        return False
    if int(code) != 0:
        log.warning("could not page-lock the decode slots (cudaHostRegister: %s)", code)
        return False
    return True


def _work(dataset, bounds, pool, tasks, results, parent: int) -> None:
    """A decode worker: runs into slots until told to stop (``None``) or the parent is gone."""
    torch.set_num_threads(1)
    while True:
        try:
            task = tasks.get(timeout=_POLL)
        except queue.Empty:
            if os.getppid() != parent:  # the job died: so does its worker
                return
            continue
        if task is None:
            return
        k, slot = task
        try:
            results.put((k, slot, *_decode_run(dataset, bounds[k], bounds[k + 1], pool[slot])))
        except Exception:  # noqa: BLE001 - delivered to the job, which fails with it
            results.put(("error", traceback.format_exc()))
            return


def _decode_run(dataset, start: int, stop: int, slot: torch.Tensor) -> tuple[list, list, list]:
    """Items ``start:stop`` decoded into ``slot`` in order: ``(kept, rejected, odd)``, where an image
    of another shape than the slot's (none, for the fixed-size recipes) travels as ``odd``."""
    kept, rejected, odd = [], [], []
    for index in range(start, stop):
        _, image, reason = dataset[index]
        if image is None:
            rejected.append((index, reason))
        elif tuple(image.shape) != tuple(slot.shape[1:]):
            odd.append((index, image))
        else:
            slot[len(kept)].copy_(image)
            kept.append(index)
    return kept, rejected, odd

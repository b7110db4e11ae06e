"""Seeded painting assignment: which paintings stylize which content image.

Each content image draws from its own random stream, seeded by the run's seed and a hash of the
image's key (its path relative to the content root). The assignment of one image therefore does
not depend on the order, sharding or number of the other images, so reruns and resumed runs agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["key_seed", "draw_paintings", "assign_paintings"]


def key_seed(seed: int, key: str) -> list[int]:
    """The seed words of one image's stream: ``[seed, 4 x uint32 of sha256(key)]``."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return [int(seed)] + [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def draw_paintings(seed: int, key: str, n_paintings: int, count: int = 1, unusable: Collection[int] = ()) -> list[int]:
    """The first ``count`` distinct usable paintings of the stream of ``key``.

    Args:
        seed: the run's seed.
        key: the content image's stable key (relative path).
        n_paintings: paintings are numbered ``0 .. n_paintings - 1`` (sorted by name).
        count: how many distinct paintings this image gets (stylize-datasets' ``--num-styles``).
        unusable: paintings known to be unreadable; skipped, the next draws are used instead.

    Raises:
        ValueError: fewer than ``count`` usable paintings exist.
    """
    usable = n_paintings - len(set(unusable))
    if count > usable:
        raise ValueError(f"{count} distinct paintings per image requested but only {usable} are usable")
    rng = np.random.default_rng(key_seed(seed, key))
    chosen: list[int] = []
    while len(chosen) < count:
        for value in rng.integers(0, n_paintings, size=count + 4).tolist():
            if value not in chosen and value not in unusable:
                chosen.append(value)
                if len(chosen) == count:
                    break
    return chosen


def assign_paintings(
    seed: int, keys: Sequence[str], n_paintings: int, count: int = 1, unusable: Collection[int] = ()
) -> list[list[int]]:
    """:func:`draw_paintings` for every key."""
    unusable = frozenset(unusable)
    return [draw_paintings(seed, key, n_paintings, count, unusable) for key in keys]

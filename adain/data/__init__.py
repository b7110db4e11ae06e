"""Reading shards for training and evaluation: map-style and streaming datasets.

Needs neither the model nor the engine: a training job imports ``adain.data``, h5py and the shard
format (:mod:`adain.shards.format`, whose image decoding it shares) only.

Files are opened lazily inside each process (DataLoader worker) on first use and never carried
across a fork: a dataset created and used in the parent re-opens its files in a forked child.

Modules: :mod:`~adain.data.sources` (which shards, refusing mixed datasets),
:mod:`~adain.data.reading` (rows of open shards), :mod:`~adain.data.random_access`
(:class:`ShardDataset`) and :mod:`~adain.data.stream` (:class:`ShardStream`).
"""

from .random_access import ShardDataset
from .reading import collate_variable_size
from .sources import (
    MixedShardsError,
    ShardInfo,
    check_one_dataset,
    find_shards,
    open_sources,
    read_shard_info,
    shard_split,
)
from .stream import ShardStream

__all__ = [
    "find_shards",
    "ShardDataset",
    "ShardStream",
    "ShardInfo",
    "read_shard_info",
    "MixedShardsError",
    "check_one_dataset",
    "collate_variable_size",
    "shard_split",
    "open_sources",
]

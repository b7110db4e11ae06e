"""The sha256 of a file (what identifies weights, classifiers, manifests and caches) and the CRC-32
of a stored image (what checkpoints and ``adain verify`` check)."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["file_sha256", "crc32"]


def crc32(data) -> int:
    """CRC-32 (zlib's, the one PNG and gzip use) of a buffer: by zlib-ng where it is installed
    (folded with carry-less multiplication: ~50 GB/s on this VM against zlib's ~3 GB/s, which
    cost a stylize job 60 microseconds of each 150 KB image), else by zlib; the same values."""
    return _crc32_function()(data)


@lru_cache(maxsize=1)
def _crc32_function():
    try:
        from zlib_ng.zlib_ng import crc32 as fast
    except ImportError:  # a platform without its wheel: the standard library's, slower
        from zlib import crc32 as fast
    return fast


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (remembered per process for an unchanged path, size,
    modification time and inode: weights of 500 MB are hashed once per job)."""
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, chunk)


@lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int, inode: int, chunk: int) -> str:  # noqa: ARG001 - the cache key
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            sha.update(block)
    return sha.hexdigest()

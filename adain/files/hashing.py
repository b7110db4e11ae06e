"""The sha256 of a file: what identifies weights, classifiers, manifests and caches."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["file_sha256"]


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

"""Persistent on-disk cache of painting statistics (relu4_1 mean and std, ``(2, 512)`` float32).

An entry is keyed by the painting's bytes (sha256), the painting preprocessing and the encoder
weights (sha256), so a renamed file still hits, and a changed recipe or weight file never does.
An entry is a ``.stats`` file written atomically: the 4,096 bytes of the float32 (little-endian)
statistics, then their sha256 (32 bytes). An entry whose checksum, size or values are wrong (a
torn copy, flipped bytes) is discarded and recomputed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_write_bytes

__all__ = ["StatsCache", "default_cache_dir", "STATS_SHAPE"]

STATS_SHAPE = (2, 512)
_PAYLOAD = 2 * 512 * 4


def default_cache_dir() -> Path:
    """``$ADAIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/adain``, else ``~/.cache/adain``."""
    if os.environ.get("ADAIN_CACHE_DIR"):
        return Path(os.environ["ADAIN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "adain"


def _bytes_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class StatsCache:
    """Painting statistics on disk under ``root/<weights>-<recipe>/<painting sha256>.npy``.

    Args:
        root: cache folder; ``None`` disables caching (every lookup misses, nothing is written).
        weights_sha256: sha256 of the encoder's weight file.
        recipe_key: the painting preprocessing (:attr:`adain.engine.images.Preprocess.key`).
    """

    def __init__(self, root: str | Path | None, weights_sha256: str, recipe_key: str) -> None:
        self.folder = None if root is None else Path(root) / f"{weights_sha256[:16]}-{recipe_key}"
        self.hits = 0
        self.misses = 0
        self.corrupt = 0
        self._digests: dict[str, str] = {}

    def _entry(self, painting: str | Path) -> Path | None:
        if self.folder is None:
            return None
        name = str(painting)
        if name not in self._digests:
            self._digests[name] = _bytes_sha256(Path(painting))
        return self.folder / f"{self._digests[name]}.stats"

    def get(self, painting: str | Path) -> np.ndarray | None:
        """The cached ``(2, 512)`` float32 statistics of ``painting``, or ``None``."""
        entry = self._entry(painting)
        if entry is None or not entry.is_file():
            self.misses += 1
            return None
        try:
            data = entry.read_bytes()
            payload, checksum = data[:_PAYLOAD], data[_PAYLOAD:]
            if len(data) != _PAYLOAD + 32 or hashlib.sha256(payload).digest() != checksum:
                raise ValueError("checksum mismatch")
            stats = np.frombuffer(payload, dtype="<f4").reshape(STATS_SHAPE).astype(np.float32)
            if not np.isfinite(stats).all():
                raise ValueError("non-finite statistics")
        except (OSError, ValueError):
            entry.unlink(missing_ok=True)  # corrupt (a torn copy, flipped bytes): recompute
            self.corrupt += 1
            self.misses += 1
            return None
        self.hits += 1
        return stats

    def put(self, painting: str | Path, stats: np.ndarray) -> None:
        """Store ``stats`` ``(2, 512)`` for ``painting`` (atomically)."""
        entry = self._entry(painting)
        if entry is None:
            return
        stats = np.ascontiguousarray(stats, dtype="<f4")
        if stats.shape != STATS_SHAPE:
            raise ValueError(f"statistics must be {STATS_SHAPE}, got {stats.shape}")
        payload = stats.tobytes()
        atomic_write_bytes(entry, payload + hashlib.sha256(payload).digest())

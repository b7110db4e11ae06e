"""Paintings: the official preparation (readable, RGB, no side < 224) and their statistics.

``prepare_paintings`` lists the style folder and checks each file's header; ``compute_stats``
fully decodes a chunk of paintings and computes their relu4_1 statistics (cached); ``merge_stats``
gathers the chunks into one ``stats.h5`` (``names``, ``stats (P, 2, 512)``) that stylize jobs read
row by row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import h5py
import numpy as np
from PIL import Image
from tqdm import tqdm

from ..engine.cache import StatsCache
from ..engine.images import DEFAULT_MAX_PIXELS, Preprocess
from ..files.atomic import atomic_path
from ..files.imagefiles import list_images
from ..files.tsv import display_name, is_utf8_name, read_tsv, rows_digest, write_tsv
from .fingerprints import digest, tree_signature

__all__ = [
    "prepare_paintings",
    "read_painting_list",
    "compute_stats",
    "merge_stats",
    "PaintingStats",
    "paintings_fingerprint",
    "chunk_fingerprint",
    "stats_fingerprint",
    "read_chunk_fingerprint",
    "painting_warnings",
]

ACCEPTED_COLUMNS = ["painting", "width", "height", "size", "mtime_ns"]


def painting_warnings(paintings: int, shard_size: int) -> list[str]:
    """What a small painting folder does to the dataset (said on the console and in the dataset
    card, never refused)."""
    if paintings == 1:
        return ["style_dir has one usable painting: every image is stylized with the same one"]
    if 1 < paintings < shard_size:
        share = f"{shard_size / paintings:.1f}".removesuffix(".0")  # 1.6, 1.2, 2 (never "about 1 images")
        return [
            f"style_dir has {paintings} usable paintings for shards of {shard_size} images: each painting styles "
            f"about {share} images of every shard (Painter-by-Numbers' train/ has 79,433)"
        ]
    return []


def paintings_fingerprint(style_dir: str | Path, extensions: Iterable[str], min_side: int, max_pixels: int) -> str:
    """What decides the painting list: its settings and the style tree's signature."""
    return digest(
        {
            "extensions": sorted(e.lower().lstrip(".") for e in extensions),
            "min_side": int(min_side),
            "max_pixels": int(max_pixels),
            "tree": tree_signature(style_dir),
            "columns": ACCEPTED_COLUMNS,
        }
    )


def chunk_fingerprint(rows: Sequence[dict], vgg_sha256: str, recipe_key: str) -> str:
    """What decides one chunk of painting statistics: its paintings (names, sizes, times), the VGG
    weights and the painting recipe."""
    return digest(
        {"rows": [[r["painting"], r["size"], r["mtime_ns"]] for r in rows], "vgg": vgg_sha256, "recipe": recipe_key}
    )


def stats_fingerprint(accepted_tsv: str | Path, vgg_sha256: str, recipe_key: str) -> str:
    """What decides the merged ``stats.h5`` (not how it was cut into jobs)."""
    return digest({"accepted": rows_digest(accepted_tsv), "vgg": vgg_sha256, "recipe": recipe_key})


def read_chunk_fingerprint(path: str | Path) -> str | None:
    """The fingerprint stored in a statistics chunk file, ``None`` if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return str(data["fingerprint"])
    except Exception:  # noqa: BLE001 - a torn or foreign file is simply redone
        return None


def prepare_paintings(
    style_dir: str | Path,
    accepted_tsv: str | Path,
    rejected_tsv: str | Path,
    extensions: Iterable[str] = ("jpeg", "jpg", "png"),
    min_side: int = 224,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[int, int]:
    """List usable paintings (sorted) from their headers; unreadable, too small or too large ones
    are listed with the reason. Returns ``(accepted, rejected)`` counts.

    ``accepted_tsv`` records the fingerprint (:func:`paintings_fingerprint`, taken before listing)
    and each painting's size and modification time.

    Raises:
        FileNotFoundError: the folder is missing or holds no image.
    """
    style_dir = Path(style_dir)
    fingerprint = paintings_fingerprint(style_dir, extensions, min_side, max_pixels)
    files = list_images(style_dir, extensions)
    if not files:
        raise FileNotFoundError(f"no paintings with extensions {list(extensions)} in style_dir {style_dir}")
    accepted, rejected = [], []
    for path in tqdm(files, desc="paintings", unit="file", mininterval=10):
        name = path.relative_to(style_dir).as_posix()
        if not is_utf8_name(name):
            rejected.append((display_name(name), "file name is not valid UTF-8 (rename it to use it)"))
            continue
        try:
            stat = path.stat()
            with Image.open(path) as image:
                width, height = image.size
        except Exception as error:
            size = path.stat().st_size
            rejected.append(
                (name, "undecodable: empty file" if size == 0 else f"undecodable: {type(error).__name__}: {error}")
            )
            continue
        if min(width, height) < min_side:
            rejected.append((name, f"too small: {width}x{height}, a side < {min_side}"))
        elif width * height > max_pixels:
            rejected.append((name, f"too large: {width}x{height} > max_pixels={max_pixels}"))
        else:
            accepted.append((name, width, height, stat.st_size, stat.st_mtime_ns))
    write_tsv(accepted_tsv, ACCEPTED_COLUMNS, accepted, {"fingerprint": fingerprint})
    write_tsv(rejected_tsv, ["painting", "reason"], rejected)
    if not accepted:
        raise FileNotFoundError(f"no usable painting in {style_dir}: all {len(rejected)} rejected (see {rejected_tsv})")
    return len(accepted), len(rejected)


def read_painting_list(accepted_tsv: str | Path) -> list[str]:
    return [row["painting"] for row in read_tsv(accepted_tsv)]


def read_chunk_rows(accepted_tsv: str | Path, chunk: int, chunk_size: int) -> list[dict]:
    """The rows of ``accepted.tsv`` that statistics job ``chunk`` covers."""
    return read_tsv(accepted_tsv)[chunk * chunk_size : (chunk + 1) * chunk_size]


def compute_stats(
    style_dir: str | Path,
    names: Sequence[str],
    vgg: str | Path,
    decoder: str | Path,
    recipe: Preprocess,
    out_npz: str | Path,
    cache_dir: str | Path | None,
    device: str = "auto",
    batch_size: int = 32,
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    rows: Sequence[dict] | None = None,
) -> None:
    """Statistics of the paintings ``names`` (one chunk), written to ``out_npz`` atomically with
    arrays ``names``, ``stats (n, 2, 512)``, ``rejected``, ``reasons`` and ``fingerprint``
    (:func:`chunk_fingerprint` of ``rows``, the chunk's rows of ``accepted.tsv``)."""
    from ..core.model import load_adain
    from ..engine.stylizer import Stylizer  # the model only where it is used: readers of stats.h5 need no torch

    style_dir = Path(style_dir)
    model = load_adain(vgg, decoder)
    stylizer = Stylizer(model, device=device, batch_size=batch_size)
    cache = StatsCache(cache_dir, model.weights.vgg_sha256, recipe.key)
    with tqdm(total=len(names), desc="painting statistics", unit="img", mininterval=5) as bar:
        stats, rejected = stylizer.painting_stats(
            [style_dir / n for n in names], recipe, cache, workers, max_pixels, bar.update
        )
    kept = sorted(stats)
    with atomic_path(out_npz) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            names=np.array([names[i] for i in kept], dtype=str),
            stats=np.stack([stats[i] for i in kept]) if kept else np.zeros((0, 2, 512), np.float32),
            rejected=np.array([names[i] for i in sorted(rejected)], dtype=str),
            reasons=np.array([rejected[i] for i in sorted(rejected)], dtype=str),
            fingerprint=np.array(chunk_fingerprint(rows, model.weights.vgg_sha256, recipe.key) if rows else ""),
        )


class PaintingStats:
    """Read access to a merged ``stats.h5``: painting names (sorted) and their statistics."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with h5py.File(self.path, "r") as handle:
            self.names = [n.decode("utf-8") for n in handle["names"][()]]
            self.attrs = dict(handle.attrs)
        self.position = {name: i for i, name in enumerate(self.names)}

    @property
    def digest(self) -> str:
        """sha256 of the names and statistics (recorded when merged): part of every shard's identity."""
        return str(self.attrs.get("digest", ""))

    def verify(self) -> bool:
        """Whether the stored statistics still have the recorded digest."""
        with h5py.File(self.path, "r") as handle:
            return _table_digest(self.names, handle["stats"][()]) == self.digest

    def load(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        """name -> ``(2, 512)`` float32, reading only the rows asked for."""
        wanted = sorted({self.position[n] for n in names})
        with h5py.File(self.path, "r") as handle:
            rows = handle["stats"][wanted] if wanted else np.zeros((0, 2, 512), np.float32)
        return {self.names[i]: row for i, row in zip(wanted, rows)}


def _table_digest(names: Sequence[str], table: np.ndarray) -> str:
    sha = hashlib.sha256("\n".join(names).encode("utf-8", "surrogateescape"))
    sha.update(np.ascontiguousarray(table, dtype="<f4").tobytes())
    return sha.hexdigest()


def merge_stats(chunks: Sequence[str | Path], rejected_tsv: str | Path, out_h5: str | Path, attrs: dict) -> int:
    """Merge chunk files into ``out_h5`` (names sorted) and list decode failures in
    ``rejected_tsv``. Returns the number of usable paintings.

    ``out_h5`` records ``attrs`` (its fingerprint among them) and ``digest``, the sha256 of its
    names and statistics."""
    names, stats, rejected = [], [], []
    for chunk in chunks:
        with np.load(chunk, allow_pickle=False) as data:
            names += data["names"].tolist()
            stats.append(data["stats"])
            rejected += list(zip(data["rejected"].tolist(), data["reasons"].tolist()))
    order = np.argsort(names, kind="stable")
    table = np.concatenate(stats)[order] if names else np.zeros((0, 2, 512), np.float32)
    write_tsv(rejected_tsv, ["painting", "reason"], sorted(rejected))
    if not names:
        raise ValueError(f"no painting could be decoded (see {rejected_tsv})")
    sorted_names = [names[i] for i in order]
    table = table.astype(np.float32)
    with atomic_path(out_h5) as tmp, h5py.File(tmp, "w") as handle:
        handle.create_dataset(
            "names", data=np.array(sorted_names, dtype=object), dtype=h5py.string_dtype("utf-8"), track_times=False
        )
        handle.create_dataset("stats", data=table, chunks=(1, 2, 512), track_times=False)
        for key, value in attrs.items():
            handle.attrs[key] = value
        handle.attrs["digest"] = _table_digest(sorted_names, table)
    return len(names)

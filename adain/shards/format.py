"""The HDF5 shard format (see docs/format.md): writing and reading one shard file.

Datasets (N = images in the shard):

``images``     uint8 ``(N, H, W, 3)`` for fixed-size presets; for ``full``, one variable-length
               uint8 array per image holding its PNG (or JPEG) bytes, sizes in ``shapes (N, 3)``.
``labels``     int64 ``(N,)`` (index of the WNID in the sorted class list).
``content``    str ``(N,)`` the image's path relative to ``content_dir``.
``style``      str ``(N,)`` the painting's file name (relative to ``style_dir``).
``wnid``       str ``(N,)``; ``labels_clsloc`` int64 ``(N,)`` (map_clsloc index, -1 if unknown).
``rejected_content``, ``rejected_reason``  str: manifest images that could not be used.
``k``, ``rejected_k``  int64: each sample's number among its image's ``styles_per_image`` (0 when
               absent: shards made before the option, read as K = 1).
``checksums``  uint32 ``(N,)`` CRC-32 of each stored image's bytes (final shards; ``adain verify``).

Attributes: preset, method, seed, alpha, codec, split, shard, weight sha256s, package version,
``fingerprint`` / ``stylization_fingerprint`` (``dataset_fingerprint`` in older shards) / ``identity`` (what decided the bytes, see
:mod:`adain.stages.fingerprints`), ``pack_fingerprint``, manifest count. No timestamps: the same inputs give
the same bytes.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from PIL import Image

from ..files.atomic import atomic_path
from ..files.hashing import crc32

__all__ = [
    "ShardData",
    "ShardWriter",
    "write_shard",
    "read_shard",
    "encode_image",
    "decode_image",
    "ShardError",
    "row_checksums",
    "encoded_shape",
]

_STR = h5py.string_dtype("utf-8")
_IOV_MAX = 512  # buffers per os.pwritev (POSIX guarantees at least 16, Linux takes 1024)
_PAGE = 4096  # what direct I/O aligns to
_NONE = np.zeros(0, np.uint32)
_BYTES = h5py.vlen_dtype(np.uint8)


class ShardError(Exception):
    """A shard file is missing, unreadable or malformed (the message names the file)."""


def encode_image(pixels: np.ndarray, codec: str, jpeg_quality: int = 95) -> np.ndarray:
    """``uint8 (H, W, 3)`` -> encoded bytes as a uint8 array (``png`` lossless or ``jpeg``)."""
    buffer = io.BytesIO()
    if codec == "png":
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=6)
    elif codec == "jpeg":
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=jpeg_quality)
    else:
        raise ValueError(f"unknown codec {codec!r}; use png or jpeg")
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def decode_image(data: np.ndarray | bytes) -> np.ndarray:
    """Encoded bytes -> writable ``uint8 (H, W, 3)``: the one decoding of stored images (the
    shard writer's checks, validation and the readers)."""
    with Image.open(io.BytesIO(bytes(data))) as image:
        return np.array(image.convert("RGB"))


@dataclass
class ShardData:
    """The contents of one shard, in manifest order.

    ``images`` is a ``uint8 (N, H, W, 3)`` array (codec ``raw``) or a list of encoded uint8 arrays
    (codec ``png``/``jpeg``, with ``shapes``).
    """

    images: Any
    labels: np.ndarray
    content: list[str]
    style: list[str]
    wnid: list[str]
    labels_clsloc: np.ndarray
    codec: str = "raw"
    shapes: np.ndarray | None = None
    rejected_content: list[str] = field(default_factory=list)
    rejected_reason: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    checksums: np.ndarray | None = None
    k: np.ndarray | None = None
    rejected_k: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def samples(self) -> list[tuple[str, int]]:
        """``(content, k)`` of each stored image (``k`` 0 when the shard has none)."""
        return list(zip(self.content, _ks(self.k, len(self.content))))

    def rejected_samples(self) -> list[tuple[str, int]]:
        """``(content, k)`` of each reject."""
        return list(zip(self.rejected_content, _ks(self.rejected_k, len(self.rejected_content))))

    def pixels(self, i: int) -> np.ndarray:
        """Image ``i`` as ``uint8 (H, W, 3)``."""
        return self.images[i] if self.codec == "raw" else decode_image(self.images[i])


def _ks(k: np.ndarray | None, count: int) -> list[int]:
    return [0] * count if k is None else [int(v) for v in k]


def row_checksums(images: Any, codec: str) -> np.ndarray:
    """CRC-32 of each image's stored bytes: ``uint32 (N,)``."""
    if codec == "raw":
        return np.array([crc32(np.ascontiguousarray(row, dtype=np.uint8)) for row in images], dtype=np.uint32)
    return np.array([crc32(np.ascontiguousarray(data, dtype=np.uint8)) for data in images], dtype=np.uint32)


def _attr(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def write_shard(path: str | Path, data: ShardData, compression: str | None = None, chunk_images: int = 1) -> None:
    """Write ``data`` to ``path`` atomically (temporary name, then rename).

    Args:
        compression: HDF5 filter for ``images`` (``None``, ``"gzip"``, ``"lzf"``).
        chunk_images: images per HDF5 chunk of a compressed fixed-size ``images`` dataset
            (uncompressed ones are contiguous).
    """
    n = len(data)
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as handle:
        if data.codec == "raw":
            images = np.asarray(data.images, dtype=np.uint8).reshape((n, *np.shape(data.images)[1:]))
            if n and (images.ndim != 4 or images.shape[-1] != 3):
                raise ValueError(f"raw images must be (N, H, W, 3), got {images.shape}")
            # uncompressed: contiguous, so readers can memory-map it (see adain.data)
            chunks = (max(1, min(chunk_images, n)), *images.shape[1:]) if n and compression else None
            handle.create_dataset("images", data=images, chunks=chunks, compression=compression, track_times=False)
        else:
            dataset = handle.create_dataset("images", shape=(n,), dtype=_BYTES, track_times=False)
            for i, encoded in enumerate(data.images):
                dataset[i] = encoded
            handle.create_dataset(
                "shapes", data=np.asarray(data.shapes, dtype=np.int64).reshape(n, 3), track_times=False
            )
        _write_rows(handle, data)


def _write_rows(handle: h5py.File, data: ShardData) -> None:
    """Everything of ``data`` but the images (and, for encoded images, their ``shapes``)."""
    handle.create_dataset("labels", data=np.asarray(data.labels, dtype=np.int64), track_times=False)
    if data.checksums is not None:
        handle.create_dataset("checksums", data=np.asarray(data.checksums, dtype=np.uint32), track_times=False)
    handle.create_dataset("labels_clsloc", data=np.asarray(data.labels_clsloc, dtype=np.int64), track_times=False)
    for name in ("content", "style", "wnid", "rejected_content", "rejected_reason"):
        handle.create_dataset(name, data=np.asarray(getattr(data, name), dtype=object), dtype=_STR, track_times=False)
    for name in ("k", "rejected_k"):
        if getattr(data, name) is not None:
            handle.create_dataset(name, data=np.asarray(getattr(data, name), dtype=np.int64), track_times=False)
    handle.attrs["codec"] = data.codec
    for key, value in sorted(data.attrs.items()):
        handle.attrs[key] = _attr(value)


class ShardWriter:
    """A staging shard written while its images arrive, in row order (:mod:`adain.stages.stylize_shard`).

    The images go to a work file as they come (nothing is gathered in memory, nothing is copied
    at the end), the other datasets at :meth:`close`, which then renames the work file onto the
    shard's name. :meth:`sync` makes what was appended durable: with the images' CRC-32s (which
    :meth:`append` returns) it is the checkpoint of a killed job, and :meth:`resume` reopens the
    work file, checks every checkpointed image against its CRC-32 and continues after them.

    Fixed-size (``raw``) images go into a contiguous dataset allocated for ``rows`` images at
    creation (at a 4 KiB boundary of the file), written with ``os.pwritev`` at its file offset: the
    writes release the GIL, so the thread that feeds the device is never held up by them (h5py
    holds the GIL while it writes). A block of whole pages at a page boundary of memory and of the
    file (a batch of 224x224 images in a page-locked CUDA buffer, whenever the batch is a multiple
    of 4 images) goes straight to the disk (``O_DIRECT``: no copy into the page cache, which the
    job would pay for in system time, and ImageNet's cached files stay cached); anything else is
    written through the page cache. Should rejects leave the dataset short, :meth:`close` copies
    the images into a dataset of the right length (:func:`adain.stages.pack_shard.pack_shard` then
    rewrites the file instead of packing it in place). Encoded images (``png``, ``jpeg``) are
    appended to a resizable variable-length dataset.

    Args:
        path: the shard's name; work: the work file (in the job's checkpoint folder).
        codec: ``raw`` (then ``image_shape`` ``(H, W, 3)`` and ``rows``, the most images), ``png``
            or ``jpeg``.
    """

    def __init__(
        self,
        path: str | Path,
        work: str | Path,
        codec: str,
        image_shape: tuple[int, int, int] | None = None,
        rows: int = 0,
        count: int = 0,
    ) -> None:
        self.path, self.work, self.codec = Path(path), Path(work), codec
        self.count = count
        if count == 0:
            self.work.parent.mkdir(parents=True, exist_ok=True)
            aligned = {"alignment_threshold": _PAGE, "alignment_interval": _PAGE}  # the images at a page
            with h5py.File(self.work, "w", track_order=True, **aligned) as handle:
                if codec == "raw":
                    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                    plist.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)  # a fixed place in the file, now
                    plist.set_fill_time(h5py.h5d.FILL_TIME_NEVER)  # not written twice
                    handle.create_dataset(
                        "images", shape=(rows, *image_shape), dtype=np.uint8, dcpl=plist, track_times=False
                    )
                else:
                    handle.create_dataset(
                        "images", shape=(0,), maxshape=(None,), dtype=_BYTES, chunks=(256,), track_times=False
                    )
        self._handle = h5py.File(self.work, "r+")
        self._images = self._handle["images"]
        self._fd = self._direct = None
        self._shapes: list[tuple[int, int, int]] = []
        self._allocated = self._images.shape  # h5py asks HDF5 at every look: asked once
        if codec == "raw":
            self._row_bytes = int(np.prod(self._allocated[1:]))
            self._offset = self._images.id.get_offset()
            self._fd = os.open(self.work, os.O_RDWR)
            self._direct = _open_direct(self.work) if self._offset % _PAGE == 0 else None
        else:
            self._shapes = [encoded_shape(self._images[i]) for i in range(count)]

    @classmethod
    def resume(
        cls,
        path: str | Path,
        work: str | Path,
        codec: str,
        image_shape: tuple[int, int, int] | None,
        rows: int,
        checksums: np.ndarray,
    ) -> ShardWriter | None:
        """The work file with its first ``len(checksums)`` images intact, or ``None`` (missing,
        unreadable, another layout, or an image that differs from its checksum: start over)."""
        count = len(checksums)
        try:
            with h5py.File(work, "r") as handle:  # read with its own caches, closed before writing
                images = handle["images"]
                if codec == "raw":
                    if images.shape != (rows, *image_shape) or images.id.get_offset() is None:
                        return None
                elif len(images) < count:
                    return None
                for start in range(0, count, 256):
                    stored = images[start : min(count, start + 256)]
                    if not np.array_equal(
                        row_checksums(stored if codec == "raw" else list(stored), codec), checksums[start : start + 256]
                    ):
                        return None
            writer = cls(path, work, codec, image_shape, rows, count)
            if codec != "raw":
                writer._images.resize((count,))
            return writer
        except Exception:  # noqa: BLE001 - any doubt: the shard is made again
            return None

    def append(self, images) -> np.ndarray:
        """Images of the next rows: ``uint8 (n, H, W, 3)``, a list of ``(H, W, 3)`` rows or a list of
        ``(n_i, H, W, 3)`` blocks (raw), or a list of encoded arrays.
        Returns their CRC-32s (``uint32 (n,)``, as :func:`row_checksums`)."""
        if self.codec == "raw":
            blocks = [np.ascontiguousarray(b, dtype=np.uint8) for b in _raw_blocks(images)]  # views: no copy
            if any(b.nbytes % self._row_bytes or b.shape[-3:] != self._allocated[1:] for b in blocks):
                raise ValueError(f"{self.work}: images of another shape than {self._allocated[1:]}")
            n = sum(b.nbytes for b in blocks) // self._row_bytes
            if self.count + n > self._allocated[0]:
                raise ValueError(f"{self.work}: more than the {self._allocated[0]} images allocated")
            self._write_blocks(blocks, self._offset + self.count * self._row_bytes)
            self.count += n
            return np.concatenate([row_checksums(b.reshape(-1, *b.shape[-3:]), "raw") for b in blocks]) if n else _NONE
        n = len(images)
        if n:
            self._images.resize((self.count + n,))
            for i, encoded in enumerate(images):
                self._images[self.count + i] = encoded
                self._shapes.append(encoded_shape(encoded))
        self.count += n
        return row_checksums(images, self.codec)

    def _write_blocks(self, blocks: list[np.ndarray], at: int) -> None:
        """``blocks`` one after another from file offset ``at``: each block of whole pages at a
        page boundary of memory and of the file straight to the disk, the rest through the page
        cache (in gathering writes of up to :data:`_IOV_MAX` buffers: nothing is stacked)."""
        cached: list[memoryview] = []
        start = at
        for block in blocks:
            buffer = memoryview(block).cast("B")
            if self._direct is not None and _page_aligned(buffer, at):
                if cached:
                    _write_all(self._fd, cached, start)
                cached, start = [], at + buffer.nbytes
                try:
                    _write_all(self._direct, [buffer], at)
                except OSError:  # the file system refuses direct I/O after all: the page cache
                    os.close(self._direct)
                    self._direct = None
                    _write_all(self._fd, [buffer], at)
            else:
                cached.append(buffer)
            at += buffer.nbytes
        if cached:
            _write_all(self._fd, cached, start)
        if cached and hasattr(os, "posix_fadvise"):  # start writing back now: the checkpoint's sync waits less
            os.posix_fadvise(self._fd, start, at - start, os.POSIX_FADV_DONTNEED)

    def sync(self) -> None:
        """Make everything appended so far durable."""
        self._handle.flush()
        fd = self._fd if self._fd is not None else os.open(self.work, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            if fd != self._fd:
                os.close(fd)

    def close(self, data: ShardData) -> None:
        """Write the rows of ``data`` (its ``images`` are ignored: they were appended) and publish
        the shard under its name."""
        if len(data) != self.count:
            raise ValueError(f"{self.count} images appended for {len(data)} rows")
        if self.codec == "raw" and self.count < len(self._images):
            self._shorten()
        if self.codec != "raw":
            self._handle.create_dataset(
                "shapes", data=np.asarray(self._shapes, dtype=np.int64).reshape(-1, 3), track_times=False
            )
        _write_rows(self._handle, data)
        self.abort()
        with open(self.work, "rb+") as handle:
            os.fsync(handle.fileno())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.work, self.path)

    def _shorten(self) -> None:
        """Rejects left the allocated dataset short: the images move to one of the right length."""
        os.fsync(self._fd)
        self._handle.close()  # reopened: no cache of HDF5's may hold what pwrite wrote around it
        self._handle = h5py.File(self.work, "r+")
        self._handle.move("images", "images_allocated")
        allocated = self._handle["images_allocated"]
        images = self._handle.create_dataset(
            "images", shape=(self.count, *allocated.shape[1:]), dtype=np.uint8, track_times=False
        )
        for start in range(0, self.count, 256):
            images[start : min(self.count, start + 256)] = allocated[start : min(self.count, start + 256)]
        del self._handle["images_allocated"]

    def abort(self) -> None:
        """Close the work file, leaving it for :meth:`resume`."""
        for fd in (self._fd, self._direct):
            if fd is not None:
                os.close(fd)
        self._fd = self._direct = None
        if self._handle.id.valid:
            self._handle.close()


def _raw_blocks(images) -> list:
    """A ``(n, H, W, 3)`` array, a list of ``(H, W, 3)`` rows or a list of ``(n_i, H, W, 3)`` blocks
    as a list of arrays of whole rows, in order."""
    if isinstance(images, np.ndarray):
        return [images] if images.ndim == 4 else [images[None]]
    return [np.asarray(b)[None] if np.ndim(b) == 3 else b for b in images]


def _page_aligned(buffer: memoryview, offset: int) -> bool:
    """What ``O_DIRECT`` needs (4 KiB, which covers 512-byte sectors too): the memory's address,
    the file offset and the length at page boundaries."""
    address = np.frombuffer(buffer, dtype=np.uint8).ctypes.data if buffer.nbytes else 0
    return buffer.nbytes > 0 and not (address % _PAGE or offset % _PAGE or buffer.nbytes % _PAGE)


def _open_direct(path: Path, mode: int = os.O_RDWR) -> int | None:
    """A descriptor of ``path`` that reads or writes past the page cache, where the system offers it."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return None
    try:
        return os.open(path, mode | flag)
    except OSError:  # e.g. tmpfs
        return None


def _write_all(fd: int, buffers: list[memoryview], at: int) -> None:
    """``buffers`` one after another from offset ``at``, in gathering writes; a short write (full
    disk) is finished in one piece or raises."""
    for first in range(0, len(buffers), _IOV_MAX):
        group = buffers[first : first + _IOV_MAX]
        size = sum(b.nbytes for b in group)
        written = os.pwritev(fd, group, at)
        if written != size:
            rest = b"".join(group)[written:]
            if os.pwrite(fd, rest, at + written) != len(rest):
                raise OSError(f"short write at offset {at + written} (disk full?)")
        at += size


def encoded_shape(data: np.ndarray) -> tuple[int, int, int]:
    """``(H, W, 3)`` of an encoded image, from its header."""
    with Image.open(io.BytesIO(np.asarray(data, dtype=np.uint8).tobytes())) as image:
        return image.height, image.width, 3


class StoredRows:
    """A shard's fixed-size images left where they are (:func:`read_shard` with ``pixels=False``):
    their ``shape`` ``(N, H, W, 3)`` and, read once in pieces, their CRC-32s."""

    def __init__(self, path: Path, shape: tuple[int, ...], offset: int | None) -> None:
        self.path, self.shape, self.offset = path, tuple(shape), offset

    def __len__(self) -> int:
        return self.shape[0]

    def checksums(self, rows_per_read: int = 64) -> np.ndarray:
        """CRC-32 of every image, ``uint32 (N,)``: a contiguous dataset read straight from the disk
        in pieces (``O_DIRECT``: nothing goes through the page cache, which a job would pay for in
        system time, the pixels having just been written past it), anything else through h5py."""
        count, row = len(self), int(np.prod(self.shape[1:]))
        if not count:
            return _NONE
        if self.offset is None:
            with h5py.File(self.path, "r") as handle:
                images = handle["images"]
                return np.concatenate(
                    [row_checksums(images[i : i + rows_per_read], "raw") for i in range(0, count, rows_per_read)]
                )
        found = []
        with _Reader(self.path, rows_per_read * row) as reader:
            for first in range(0, count, rows_per_read):
                rows = min(rows_per_read, count - first)
                block = reader.read(self.offset + first * row, rows * row)
                found.append(row_checksums(block.reshape(rows, *self.shape[1:]), "raw"))
        return np.concatenate(found)


class _Reader:
    """Reads byte ranges of a file into one page-aligned buffer, past the page cache where the
    system offers it (the range widened to whole pages), else through it."""

    def __init__(self, path: Path, most: int) -> None:
        import mmap

        self.path = path
        self._buffer = mmap.mmap(-1, (most // _PAGE + 2) * _PAGE)  # page-aligned memory
        self._fd = _open_direct(path, os.O_RDONLY)
        if self._fd is None:
            self._fd = os.open(path, os.O_RDONLY)
            self._direct = False
        else:
            self._direct = True

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self._fd)  # the buffer goes with the last view of it

    def read(self, offset: int, size: int) -> np.ndarray:
        start = offset - offset % _PAGE if self._direct else offset
        end = -(-(offset + size) // _PAGE) * _PAGE if self._direct else offset + size
        view = memoryview(self._buffer)[: end - start]
        try:
            got = os.preadv(self._fd, [view], start)
        except OSError:  # the file system took O_DIRECT but refuses the read: through the page cache
            if not self._direct:
                raise
            os.close(self._fd)
            self._fd, self._direct = os.open(self.path, os.O_RDONLY), False
            return self.read(offset, size)
        if got < offset + size - start:
            raise ShardError(f"{self.path}: ends inside its images (read {got} of {end - start} bytes at {start})")
        return np.frombuffer(view, dtype=np.uint8)[offset - start : offset - start + size]


def read_shard(path: str | Path, pixels: bool = True) -> ShardData:
    """Read a whole shard into memory (for validation, packing and tests); with ``pixels=False``
    the fixed-size images stay on the disk (``images`` a :class:`StoredRows`).

    Raises:
        ShardError: missing, unreadable, or lacking a required dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise ShardError(f"{path}: shard file not found")
    try:
        with h5py.File(path, "r") as handle:
            codec = str(handle.attrs.get("codec", "raw"))
            stored = handle["images"]
            if codec != "raw":
                images = list(stored[()])
            elif pixels:
                images = stored[()]
            else:
                images = StoredRows(path, stored.shape, stored.id.get_offset() if not stored.compression else None)
            strings = {
                name: [s.decode("utf-8", "backslashreplace") if isinstance(s, bytes) else s for s in handle[name][()]]
                for name in ("content", "style", "wnid", "rejected_content", "rejected_reason")
            }
            return ShardData(
                images=images,
                labels=handle["labels"][()],
                labels_clsloc=handle["labels_clsloc"][()],
                codec=codec,
                shapes=handle["shapes"][()] if "shapes" in handle else None,
                checksums=handle["checksums"][()] if "checksums" in handle else None,
                k=handle["k"][()] if "k" in handle else None,
                rejected_k=handle["rejected_k"][()] if "rejected_k" in handle else None,
                attrs=dict(handle.attrs),
                **strings,
            )
    except ShardError:
        raise
    except (OSError, KeyError) as error:
        raise ShardError(f"{path}: not a readable shard ({error})") from None

"""The one reader and writer of every TSV file of a run (index, paintings, manifests, rejects).

A file is a header line, then one row per line, tab-separated (Python's ``csv`` dialect: a field
holding a tab, a newline or a quote is quoted, so any UTF-8 text survives the round trip). A file
may begin with one metadata line ``# adain: {json}`` that records what decided its rows (its
fingerprint, see :mod:`adain.stages.fingerprints`); readers skip it, :func:`read_meta` returns it.

File names that are not valid UTF-8 cannot be stored as text: :func:`display_name` turns them into
a lossless, printable form (``caf\\xe9.JPEG``) for reject lists.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .atomic import atomic_write_bytes

__all__ = [
    "format_tsv",
    "write_tsv",
    "open_tsv",
    "iter_tsv",
    "read_tsv",
    "read_meta",
    "rows_digest",
    "display_name",
    "is_utf8_name",
]

_META = "# adain: "


def format_tsv(header: Sequence[str] | None, rows: Iterable[Sequence], meta: dict | None = None) -> str:
    """The text of a TSV file: optional metadata line, ``header`` (``None``: none), ``rows``."""
    buffer = io.StringIO(newline="")
    if meta is not None:
        buffer.write(_META + json.dumps(meta, sort_keys=True) + "\n")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_tsv(
    path: str | Path, header: Sequence[str] | None, rows: Iterable[Sequence], meta: dict | None = None
) -> None:
    """Write ``header`` and ``rows`` to ``path`` atomically, with an optional metadata line."""
    atomic_write_bytes(path, format_tsv(header, rows, meta).encode("utf-8"))


class TsvWriter:
    """Streaming writer (for files too large to build in memory); use :func:`open_tsv`."""

    def __init__(self, handle, header: Sequence[str], meta: dict | None) -> None:
        if meta is not None:
            handle.write(_META + json.dumps(meta, sort_keys=True) + "\n")
        self._writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        self._writer.writerow(header)

    def writerow(self, row: Sequence) -> None:
        self._writer.writerow(row)


def open_tsv(handle, header: Sequence[str], meta: dict | None = None) -> TsvWriter:
    """A :class:`TsvWriter` on an open text ``handle`` (opened with ``newline=""``, UTF-8)."""
    return TsvWriter(handle, header, meta)


def _lines(handle) -> Iterator[str]:
    first = handle.readline()
    if not first.startswith(_META):
        yield first
    yield from handle


def iter_tsv(path: str | Path) -> Iterator[dict[str, str]]:
    """Stream the rows of a TSV file as dicts (the metadata line, if any, skipped)."""
    with open(path, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(_lines(handle), delimiter="\t")


def read_tsv(path: str | Path) -> list[dict[str, str]]:
    """All rows of a TSV file (small files; stream large ones with :func:`iter_tsv`)."""
    return list(iter_tsv(path))


def read_meta(path: str | Path) -> dict | None:
    """The metadata line of a TSV file, or ``None`` (no line, unreadable, or the file is missing)."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        return json.loads(first[len(_META) :]) if first.startswith(_META) else None
    except (OSError, ValueError):
        return None


def rows_digest(path: str | Path) -> str:
    """sha256 of a TSV file's header and rows (its metadata line excluded)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        first = handle.readline()
        if not first.startswith(_META.encode()):
            digest.update(first)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_utf8_name(name: str) -> bool:
    """Whether a file name (as ``os.fsdecode`` gives it) is valid UTF-8 (no surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name(name: str | os.PathLike) -> str:
    """A printable, lossless form of a file name: undecodable bytes as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")

"""Paths made from data (shard attributes, manifest rows, file names) that stay inside their folder.

A shard passed around between people may say its split is ``../../..``; a content path may be
absolute or hold ``..``; a name may be longer than the file system allows. Every such path is built
here: each part is made a harmless single name, and the result is checked to lie inside the root.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["safe_name", "confined", "NAME_MAX"]

#: Longest file name (bytes) written: the usual file-system limit (255) less room for the
#: temporary names of atomic writes.
NAME_MAX = 200


def safe_name(name: str, max_bytes: int = NAME_MAX) -> str:
    """One path component from ``name``: no separators, no control characters, never ``.``,
    ``..`` or empty, at most ``max_bytes`` UTF-8 bytes (a long name keeps its start and its
    extension and gains a short hash, so two long names never collide)."""
    cleaned = "".join("_" if ch in "/\\\0" or ord(ch) < 32 or ch == "\x7f" else ch for ch in str(name))
    cleaned = cleaned.encode("utf-8", "surrogateescape").decode("utf-8", "replace").strip()
    if cleaned in ("", ".", ".."):
        cleaned = "_" + cleaned.replace(".", "_")
    if len(cleaned.encode()) > max_bytes:
        stem, dot, suffix = cleaned.rpartition(".")
        suffix = f".{suffix}" if dot and len(suffix.encode()) <= 16 else ""
        tag = "~" + hashlib.sha256(cleaned.encode()).hexdigest()[:10]
        room = max_bytes - len(suffix.encode()) - len(tag)
        head = (stem if suffix else cleaned).encode()[:room].decode("utf-8", "ignore")
        cleaned = head + tag + suffix
    return cleaned


def confined(root: str | Path, parts: Iterable[str]) -> Path:
    """``root`` joined with ``parts`` (each a relative POSIX path from data), every component made
    safe by :func:`safe_name`; ``..``, absolute roots and empty components are dropped.

    Raises:
        ValueError: the result would still lie outside ``root`` (never expected; a last guard).
    """
    root = Path(root)
    names = []
    for part in parts:
        for component in PurePosixPath(str(part).replace("\\", "/")).parts:
            if component in ("/", "", ".", ".."):
                continue
            names.append(safe_name(component))
    path = root.joinpath(*names) if names else root / "_"
    if os.path.commonpath([os.path.abspath(root), os.path.abspath(path)]) != os.path.abspath(root):
        raise ValueError(f"{path} would lie outside {root}")
    return path

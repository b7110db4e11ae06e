"""Indexing an ImageNet-style tree: every image with its split, WNID and label.

Layouts: ``<content_dir>/<split>/<wnid>/*.JPEG`` (class folders), or a flat ``<split>/`` folder of
images whose WNIDs come from a labels file (Kaggle's ``LOC_val_solution.csv``, the devkit's
``ILSVRC2012_validation_ground_truth.txt`` with a ``map_clsloc.txt``-style map, or two columns
``<file name> <wnid>``). Labels follow torchvision's ``ImageFolder``: the index of the WNID in the
sorted list of all WNIDs found. The ILSVRC ``map_clsloc.txt`` index is kept too when given.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files.atomic import atomic_path
from ..files.tsv import display_name, is_utf8_name, iter_tsv, open_tsv, read_tsv, write_tsv
from .fingerprints import digest, file_identity, tree_signature

__all__ = [
    "ImageRecord",
    "Index",
    "iter_images",
    "index_images",
    "read_val_labels",
    "read_class_map",
    "write_index",
    "iter_index",
    "read_index",
    "read_index_rejects",
    "index_fingerprint",
    "INDEX_COLUMNS",
]

#: ``size`` and ``mtime_ns`` identify the file's version: they enter every shard's fingerprint.
INDEX_COLUMNS = ["split", "content", "wnid", "label", "clsloc", "size", "mtime_ns"]


@dataclass(frozen=True)
class ImageRecord:
    """One content image: ``content`` is its path relative to the content root (POSIX)."""

    split: str
    content: str
    wnid: str
    label: int
    clsloc: int = -1
    size: int = -1
    mtime_ns: int = -1


@dataclass
class Index:
    records: list[ImageRecord]
    classes: list[str]
    notes: list[str]


def _matches(name: str, suffixes: set[str]) -> bool:
    return os.path.splitext(name)[1].lower() in suffixes


def read_class_map(path: str | Path) -> dict[str, int]:
    """``map_clsloc.txt``-style lines ``<wnid> <index> [name]`` -> {wnid: index}."""
    mapping = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            mapping[parts[0]] = int(parts[1])
    if not mapping:
        raise ValueError(f"{path}: no '<wnid> <index>' lines found")
    return mapping


def read_val_labels(path: str | Path, files: Sequence[str], class_map: dict[str, int] | None = None) -> dict[str, str]:
    """WNID of each flat validation file (by name), from one of the supported label files.

    Args:
        path: ``LOC_val_solution.csv`` (``ImageId,PredictionString``), a devkit ground-truth file
            (one class index per line, for the sorted files; needs ``class_map``), or lines
            ``<file name or stem> <wnid>``.
        files: the flat folder's file names, sorted.
        class_map: WNID -> index (``map_clsloc.txt``) to resolve devkit indices.
    """
    lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    by_stem: dict[str, str] = {}
    if lines and lines[0].startswith("ImageId"):
        for row in csv.DictReader(lines):
            by_stem[row["ImageId"]] = row["PredictionString"].split()[0]
    elif lines and all(line.isdigit() for line in lines):
        if class_map is None:
            raise ValueError(f"{path} holds class indices: set class_index (map_clsloc.txt) to map them to WNIDs")
        if len(lines) != len(files):
            raise ValueError(f"{path} has {len(lines)} labels for {len(files)} flat images")
        wnid_of = {index: wnid for wnid, index in class_map.items()}
        by_stem = {Path(name).stem: wnid_of[int(line)] for name, line in zip(files, lines)}
    else:
        for line in lines:
            name, wnid = line.split()[:2]
            by_stem[Path(name).stem] = wnid
    missing = [name for name in files if Path(name).stem not in by_stem]
    if missing:
        raise ValueError(f"{path} has no label for {len(missing)} image(s), e.g. {missing[:3]}")
    return {name: by_stem[Path(name).stem] for name in files}


_BAD_NAME = "file name is not valid UTF-8 (rename it to use it)"
_STRAY = "image in the split's root, not in a class folder (set val_labels for a flat split)"


@dataclass
class _Listing:
    """What one folder holds, sorted: sub-folders and image files (other files are not images);
    hidden entries and unreadable links are described in ``notes``, bad names in ``rejects``."""

    folders: list[str]
    images: list[str]
    notes: list[str]
    rejects: list[tuple[str, str]]


def _list_folder(folder: Path, rel: str, suffixes: set[str]) -> _Listing:
    listing = _Listing([], [], [], [])
    hidden = 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            hidden += 1  # .ipynb_checkpoints, .DS_Store, ...: never a class, never an image
            continue
        shown = f"{rel}/{display_name(entry.name)}"
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
            if entry.is_symlink():
                os.stat(entry.path)  # a loop or a dangling link raises here
        except OSError as error:
            listing.notes.append(
                f"{shown}: skipped, unreadable ({error.strerror or error}; a symlink loop or broken link?)"
            )
            continue
        if not is_utf8_name(entry.name):
            if is_dir or _matches(entry.name, suffixes):
                listing.rejects.append((shown + ("/" if is_dir else ""), _BAD_NAME))
            continue
        if is_dir:
            listing.folders.append(entry.name)
        elif is_file and _matches(entry.name, suffixes):
            listing.images.append(entry.name)
    if hidden:
        listing.notes.append(
            f"{rel}: {hidden} hidden entr{'y' if hidden == 1 else 'ies'} (name starting with '.') skipped"
        )
    return listing


def _walk_class(
    folder: Path,
    rel: str,
    suffixes: set[str],
    notes: list[str],
    rejects: list,
    seen: set[tuple[int, int]] | None = None,
) -> Iterator[str]:
    """Image paths (relative to the content root) in a class folder and, as torchvision's
    ``ImageFolder`` does, in its sub-folders, sorted; a folder reached twice (a symlink loop) is
    skipped with a note."""
    seen = set() if seen is None else seen
    stat = folder.stat()
    if (stat.st_dev, stat.st_ino) in seen:
        notes.append(f"{rel}: skipped, already indexed through another path (a symlink loop?)")
        return
    seen.add((stat.st_dev, stat.st_ino))
    listing = _list_folder(folder, rel, suffixes)
    notes += listing.notes
    rejects += listing.rejects
    for name in listing.images:
        yield f"{rel}/{name}"
    for name in listing.folders:
        yield from _walk_class(folder / name, f"{rel}/{name}", suffixes, notes, rejects, seen)


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def iter_images(
    content_dir: str | Path,
    splits: Iterable[str],
    extensions: Iterable[str] = ("jpeg", "jpg", "png"),
    val_labels: str | Path | None = None,
    class_index: str | Path | None = None,
    notes: list[str] | None = None,
    rejects: list[tuple[str, str, str]] | None = None,
) -> tuple[list[str], Iterator[ImageRecord]]:
    """The sorted class list and a stream of every image of the requested splits.

    Only one class folder is listed in memory at a time, so memory stays flat in the dataset
    size. Labels follow torchvision's ``ImageFolder``: classes are the class folders (of all
    requested splits) plus the WNIDs of flat splits, sorted; a class folder's images include
    those in its sub-folders. One documented behaviour per oddity, never a crash:

    * a missing split: skipped, with a note;
    * hidden entries (``.ipynb_checkpoints``, ``.DS_Store``): never a class or an image; a note;
    * an empty class folder: keeps its label (so labels match the folder listing), with a note;
    * an image in a split's root beside class folders: rejected with a reason (with ``val_labels``
      and no class folders, the split is a flat one);
    * a symlink loop or dangling link: skipped, with a note;
    * files without one of ``extensions`` (``notes.txt``): not images, ignored;
    * names that are not valid UTF-8: rejected with a reason.

    Notes go to ``notes``; rejects to ``rejects`` as ``(split, path, reason)`` (while the stream is
    consumed). Each record carries the file's size and modification time.

    Raises:
        FileNotFoundError: ``content_dir`` is missing.
        ValueError: a flat split (images and no class folders) without ``val_labels``.
    """
    root = Path(content_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"content_dir not found: {root}")
    notes = [] if notes is None else notes
    rejects = [] if rejects is None else rejects
    suffixes = {"." + e.lower().lstrip(".") for e in extensions}
    class_map = read_class_map(class_index) if class_index else None
    layout = _layout(root, splits, suffixes, val_labels, class_map, notes, rejects)
    classes = sorted({w for folders, flat in layout.values() for w in [*folders, *flat.values()]})
    return classes, _records(root, layout, classes, class_map, suffixes, notes, rejects)


#: split -> (its class folders, WNID of each image of a flat split)
_Layout = dict[str, tuple[list[str], dict[str, str]]]


def _layout(root: Path, splits, suffixes: set[str], val_labels, class_map, notes: list, rejects: list) -> _Layout:
    """Each split's class folders, or its flat images' WNIDs (see :func:`iter_images`)."""
    layout: _Layout = {}
    for split in splits:
        split_dir = root / split
        if not split_dir.is_dir():
            notes.append(f"split {split!r} skipped: {split_dir} does not exist")
            continue
        listing = _list_folder(split_dir, split, suffixes)
        notes += listing.notes
        rejects += [(split, path, reason) for path, reason in listing.rejects]
        flat_wnids: dict[str, str] = {}
        if listing.images and listing.folders and val_labels is None:
            rejects += [(split, f"{split}/{name}", _STRAY) for name in listing.images]
        elif listing.images:
            if val_labels is None:
                raise ValueError(
                    f"{split_dir} holds {len(listing.images)} images without class folders: set val_labels to "
                    "LOC_val_solution.csv or the devkit ground truth"
                )
            flat_wnids = read_val_labels(val_labels, listing.images, class_map)
        layout[split] = (listing.folders, flat_wnids)
    return layout


def _records(
    root: Path, layout: _Layout, classes: list[str], class_map, suffixes: set[str], notes: list, rejects: list
) -> Iterator[ImageRecord]:
    """Every image of ``layout``, one class folder listed at a time."""
    label_of = {wnid: i for i, wnid in enumerate(classes)}

    def record(split: str, rel: str, wnid: str) -> ImageRecord:
        size, mtime_ns = _stat(root / rel)
        return ImageRecord(
            split, rel, wnid, label_of[wnid], class_map.get(wnid, -1) if class_map else -1, size, mtime_ns
        )

    for split, (folders, flat_wnids) in layout.items():
        for folder in folders:
            found = 0
            class_rejects: list[tuple[str, str]] = []
            for rel in _walk_class(root / split / folder, f"{split}/{folder}", suffixes, notes, class_rejects):
                try:
                    yield record(split, rel, folder)
                    found += 1
                except OSError as error:
                    rejects.append((split, rel, f"unreadable: {error.strerror or error}"))
            rejects.extend((split, path, reason) for path, reason in class_rejects)
            if not found:
                notes.append(f"class folder {split}/{folder} holds no images: it keeps label {label_of[folder]}")
        for name, wnid in flat_wnids.items():
            yield record(split, f"{split}/{name}", wnid)


def index_images(
    content_dir: str | Path,
    splits: Iterable[str],
    extensions: Iterable[str] = ("jpeg", "jpg", "png"),
    val_labels: str | Path | None = None,
    class_index: str | Path | None = None,
) -> Index:
    """Every image of the requested splits, in memory (see :func:`iter_images` to stream).

    Raises:
        FileNotFoundError: ``content_dir`` is missing or no image is found at all.
        ValueError: a flat split without ``val_labels``.
    """
    notes: list[str] = []
    classes, records = iter_images(content_dir, splits, extensions, val_labels, class_index, notes)
    records = list(records)
    if not records:
        raise FileNotFoundError(
            f"no images with extensions {list(extensions)} under {content_dir} for splits {list(splits)}"
        )
    return Index(records, classes, notes)


def index_fingerprint(
    content_dir: str | Path,
    splits: Iterable[str],
    extensions: Iterable[str],
    val_labels: str | Path | None = None,
    class_index: str | Path | None = None,
) -> str:
    """What decides an index: its settings, the labels files' versions and the tree signature
    (:func:`adain.stages.fingerprints.tree_signature`). Not the location of ``content_dir``."""
    splits = list(splits)
    return digest(
        {
            "splits": splits,
            "extensions": sorted(e.lower().lstrip(".") for e in extensions),
            "val_labels": file_identity(val_labels),
            "class_index": file_identity(class_index),
            "tree": tree_signature(content_dir, splits),
            "columns": INDEX_COLUMNS,
        }
    )


def write_index(
    content_dir: str | Path,
    splits: Iterable[str],
    images_tsv: str | Path,
    classes_tsv: str | Path,
    extensions: Iterable[str] = ("jpeg", "jpg", "png"),
    val_labels: str | Path | None = None,
    class_index: str | Path | None = None,
    rejected_tsv: str | Path | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Stream the index to ``images.tsv`` and the class list to ``classes.tsv`` (atomically);
    files with unusable names go to ``rejected_tsv`` (``split``, ``content``, ``reason``).

    ``images.tsv`` records its fingerprint (:func:`index_fingerprint`, taken before listing).

    Returns:
        ``(images per split, notes)``.

    Raises:
        FileNotFoundError: no image found at all.
    """
    splits = list(splits)
    fingerprint = index_fingerprint(content_dir, splits, extensions, val_labels, class_index)
    notes: list[str] = []
    rejects: list[tuple[str, str, str]] = []
    classes, records = iter_images(content_dir, splits, extensions, val_labels, class_index, notes, rejects)
    per_split: dict[str, int] = {}
    per_class: dict[str, int] = {}
    with atomic_path(images_tsv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = open_tsv(handle, INDEX_COLUMNS, {"fingerprint": fingerprint})
        for r in records:
            writer.writerow((r.split, r.content, r.wnid, r.label, r.clsloc, r.size, r.mtime_ns))
            per_split[r.split] = per_split.get(r.split, 0) + 1
            per_class[r.wnid] = per_class.get(r.wnid, 0) + 1
        if not per_split:
            raise FileNotFoundError(
                f"no images with extensions {list(extensions)} under {content_dir} for splits {splits}"
            )
    write_tsv(
        classes_tsv, ["label", "wnid", "images"], ((i, wnid, per_class.get(wnid, 0)) for i, wnid in enumerate(classes))
    )
    if rejected_tsv is not None:
        write_tsv(rejected_tsv, ["split", "content", "reason"], rejects)
    notes += [f"{path}: {reason}" for _, path, reason in rejects]
    return per_split, notes


def read_index_rejects(rejected_tsv: str | Path) -> list[tuple[str, str, str]]:
    """``(split, content, reason)`` rows of an index's ``rejected.tsv``."""
    return [(r["split"], r["content"], r["reason"]) for r in read_tsv(rejected_tsv)]


def iter_index(images_tsv: str | Path) -> Iterator[ImageRecord]:
    """Stream the records of an ``images.tsv`` written by :func:`write_index`."""
    for r in iter_tsv(images_tsv):
        yield ImageRecord(
            r["split"],
            r["content"],
            r["wnid"],
            int(r["label"]),
            int(r["clsloc"]),
            int(r.get("size", -1)),
            int(r.get("mtime_ns", -1)),
        )


def read_index(images_tsv: str | Path) -> list[ImageRecord]:
    """All records of an ``images.tsv`` (small indexes and tests; stream with :func:`iter_index`)."""
    return list(iter_index(images_tsv))

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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .atomic import atomic_path

__all__ = ["ImageRecord", "Index", "index_images", "read_val_labels", "read_class_map", "write_index", "read_index"]

INDEX_COLUMNS = ["split", "content", "wnid", "label", "clsloc"]


@dataclass(frozen=True)
class ImageRecord:
    """One content image: ``content`` is its path relative to the content root (POSIX)."""

    split: str
    content: str
    wnid: str
    label: int
    clsloc: int = -1


@dataclass
class Index:
    records: list[ImageRecord]
    classes: list[str]
    notes: list[str]

    def count(self, split: str) -> int:
        return sum(r.split == split for r in self.records)


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


def index_images(
    content_dir: str | Path,
    splits: Iterable[str],
    extensions: Iterable[str] = ("jpeg", "jpg", "png"),
    val_labels: str | Path | None = None,
    class_index: str | Path | None = None,
) -> Index:
    """Index every image of the requested splits (missing splits are skipped with a note).

    Raises:
        FileNotFoundError: ``content_dir`` is missing or no image is found at all.
        ValueError: a flat split without ``val_labels``.
    """
    root = Path(content_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"content_dir not found: {root}")
    suffixes = {"." + e.lower().lstrip(".") for e in extensions}
    class_map = read_class_map(class_index) if class_index else None
    found: list[tuple[str, str, str]] = []  # split, relative path, wnid
    notes = []
    for split in splits:
        split_dir = root / split
        if not split_dir.is_dir():
            notes.append(f"split {split!r} skipped: {split_dir} does not exist")
            continue
        entries = sorted(os.scandir(split_dir), key=lambda e: e.name)
        class_dirs = [e for e in entries if e.is_dir()]
        flat = [e.name for e in entries if e.is_file() and _matches(e.name, suffixes)]
        for class_dir in class_dirs:
            names = sorted(e.name for e in os.scandir(class_dir.path) if e.is_file() and _matches(e.name, suffixes))
            found += [(split, f"{split}/{class_dir.name}/{name}", class_dir.name) for name in names]
        if flat:
            if val_labels is None:
                raise ValueError(
                    f"{split_dir} holds {len(flat)} images without class folders: set val_labels to "
                    "LOC_val_solution.csv or the devkit ground truth"
                )
            wnids = read_val_labels(val_labels, flat, class_map)
            found += [(split, f"{split}/{name}", wnids[name]) for name in flat]
    if not found:
        raise FileNotFoundError(f"no images with extensions {sorted(suffixes)} under {root} for splits {list(splits)}")
    classes = sorted({wnid for _, _, wnid in found})
    label_of = {wnid: i for i, wnid in enumerate(classes)}
    records = [
        ImageRecord(split, rel, wnid, label_of[wnid], class_map.get(wnid, -1) if class_map else -1)
        for split, rel, wnid in found
    ]
    return Index(records, classes, notes)


def write_index(index: Index, images_tsv: str | Path, classes_tsv: str | Path) -> None:
    """Write the index (``images.tsv``) and the class list (``classes.tsv``), atomically."""
    with atomic_path(images_tsv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(INDEX_COLUMNS)
        writer.writerows((r.split, r.content, r.wnid, r.label, r.clsloc) for r in index.records)
    with atomic_path(classes_tsv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["label", "wnid", "images"])
        counts: dict[str, int] = {}
        for record in index.records:
            counts[record.wnid] = counts.get(record.wnid, 0) + 1
        writer.writerows((i, wnid, counts[wnid]) for i, wnid in enumerate(index.classes))


def read_index(images_tsv: str | Path) -> list[ImageRecord]:
    """Records of an ``images.tsv`` written by :func:`write_index`."""
    with open(images_tsv, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return [ImageRecord(r["split"], r["content"], r["wnid"], int(r["label"]), int(r["clsloc"])) for r in reader]

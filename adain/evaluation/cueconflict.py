"""Cue-conflict stimuli: reading a set in the texture-vs-shape layout, and making new ones.

Layout (rgeirhos/texture-vs-shape ``stimuli/style-transfer-preprocessed-512``, model-vs-human's
``cue-conflict``): ``<root>/<shape>/<shape><i>-<texture><j>.png``, e.g. ``cat/cat3-elephant1.png``
is the shape of the third cat image rendered in the texture of the first elephant texture; both
categories are among the 16 of :mod:`adain.evaluation.categories`.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..core.model import load_adain
from ..engine.cache import StatsCache
from ..engine.image_dataset import ImageDataset
from ..engine.images import Preprocess
from ..engine.stylizer import Rejected, Stylized, Stylizer
from ..files.imagefiles import list_images, save_image_file
from ..files.tsv import write_tsv
from .categories import CATEGORIES

__all__ = ["Stimulus", "parse_stimulus_name", "list_stimuli", "make_cue_conflict", "CueConflictSummary"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(?:.*_)?(?P<shape>[a-z]+)\d+-(?P<texture>[a-z]+)\d+\.[A-Za-z]+$")


@dataclass(frozen=True)
class Stimulus:
    """One cue-conflict image: its path, file name, and the shape and texture categories."""

    path: Path
    imagename: str
    shape: str
    texture: str


def parse_stimulus_name(name: str) -> tuple[str, str]:
    """``airplane1-bicycle2.png`` (optionally with a ``..._`` prefix, as model-vs-human's names)
    -> ``("airplane", "bicycle")``.

    Raises:
        ValueError: the name does not follow the layout or names an unknown category.
    """
    match = _NAME.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a cue-conflict name like 'cat3-elephant1.png'")
    shape, texture = match["shape"], match["texture"]
    unknown = [c for c in (shape, texture) if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"{name!r}: {', '.join(unknown)} is not one of the 16 categories {', '.join(CATEGORIES)}")
    return shape, texture


def list_stimuli(root: str | Path, extensions: Sequence[str] = ("png", "jpg", "jpeg")) -> list[Stimulus]:
    """Every stimulus under ``root``, sorted by path.

    Raises:
        ValueError: no images, a file name that is not a cue-conflict name, or a file whose shape
            category differs from its folder's (when the folder is a category name).
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"stimuli folder {root} does not exist")
    stimuli = []
    for path in list_images(root, extensions):
        shape, texture = parse_stimulus_name(path.name)
        folder = path.parent.name
        if folder in CATEGORIES and folder != shape:
            raise ValueError(f"{path}: the name says shape {shape!r} but it lies in the folder {folder!r}")
        stimuli.append(Stimulus(path, path.name, shape, texture))
    if not stimuli:
        raise ValueError(f"no cue-conflict images ({', '.join(extensions)}) under {root}")
    return stimuli


def _by_category(root: Path, extensions: Sequence[str], what: str) -> dict[str, list[Path]]:
    """``<root>/<category>/*`` -> category -> sorted images; other folders are an error."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in list_images(root, extensions):
        category = path.relative_to(root).parts[0]
        if category not in CATEGORIES:
            raise ValueError(
                f"{path}: {what} images go in <{what}s>/<category>/, with a category among {', '.join(CATEGORIES)}"
            )
        groups[category].append(path)
    if not groups:
        raise ValueError(f"no {what} images under {root} (expected <{what}s>/<category>/*.png)")
    return dict(groups)


def _numbered(groups: dict[str, list[Path]]) -> tuple[list[Path], list[str]]:
    """Category -> images  ->  every image, and its name ``<category><n>`` (``n`` from 1 in sorted order)."""
    paths = [p for category in sorted(groups) for p in groups[category]]
    names = [f"{category}{n}" for category in sorted(groups) for n in range(1, len(groups[category]) + 1)]
    return paths, names


@dataclass
class CueConflictSummary:
    """What :func:`make_cue_conflict` wrote, and what it skipped (``path``, reason)."""

    written: int
    skipped: list[tuple[str, str]]


def make_cue_conflict(
    shape_dir: str | Path,
    texture_dir: str | Path,
    output_dir: str | Path,
    vgg: str | Path,
    decoder: str | Path,
    size: int = 224,
    alpha: float = 1.0,
    same_category: bool = True,
    device: str = "auto",
    batch_size: int = 16,
    workers: int = 2,
    extensions: Sequence[str] = ("png", "jpg", "jpeg"),
    progress: bool = True,
) -> CueConflictSummary:
    """Render every shape image in every texture with AdaIN: a cue-conflict set of your own.

    ``<shape_dir>/<category>/*`` and ``<texture_dir>/<category>/*`` hold the images; both are
    brought to ``size x size`` (``Resize(size)`` + ``CenterCrop(size)``) and every (shape, texture)
    pair is written as ``<output_dir>/<shape>/<shape><i>-<texture><j>.png``, where ``i`` and ``j``
    number the images of each category from 1 in sorted order. ``same_category=False`` leaves out
    the pairs whose two categories agree (the evaluation drops them anyway). Unreadable inputs are
    skipped, logged and listed in ``<output_dir>/skipped_inputs.tsv`` (``path<TAB>reason``).
    """
    shapes = _by_category(Path(shape_dir), extensions, "shape")
    textures = _by_category(Path(texture_dir), extensions, "texture")
    recipe = Preprocess("resize-crop", size, size)
    stylizer = Stylizer(load_adain(vgg, decoder), device=device, batch_size=batch_size)

    texture_paths, texture_names = _numbered(textures)
    stats, rejected = stylizer.painting_stats(texture_paths, recipe, StatsCache(None, "", recipe.key), workers)
    skipped = [(str(texture_paths[i]), reason) for i, reason in sorted(rejected.items())]
    usable = sorted(stats)

    shape_paths, shape_names = _numbered(shapes)
    pairs = [
        [t for t in usable if same_category or _category(texture_names[t]) != _category(shape_names[s])]
        for s in range(len(shape_paths))
    ]
    total = sum(map(len, pairs))
    output = Path(output_dir)
    written = 0
    with tqdm(total=total, unit="img", desc="cue-conflict", disable=not progress) as bar:
        events = stylizer.stylize_dataset(ImageDataset(shape_paths, recipe), pairs, stats, alpha, workers)
        for event in events:
            if isinstance(event, Rejected):
                skipped.append((str(shape_paths[event.index]), event.reason))
                bar.update(len(pairs[event.index]))
            elif isinstance(event, Stylized):
                shape = shape_names[event.index]
                target = output / _category(shape) / f"{shape}-{texture_names[event.painting]}.png"
                save_image_file(event.image, target)
                written += 1
                bar.update(1)
    for path, reason in skipped:
        log.warning("skipped %s: %s", path, reason)
    if skipped:
        write_tsv(output / "skipped_inputs.tsv", None, skipped)
    return CueConflictSummary(written, skipped)


def _category(name: str) -> str:
    return name.rstrip("0123456789")

"""Pairs of stylized images that share their shape or their texture, for
:func:`adain.evaluation.dimensionality.estimate_dimensions`.

A *catalogue* says, for each image, which content it shows, in which texture, and the content's
class. Two sources:

* a run's shards (``styles_per_image >= 2``): the content path, the painting and the WNID of every
  sample (:func:`shard_catalogue`); samples ``k = 0, 1, ...`` of one content carry different paintings;
* a Stylized-VOC folder (:func:`svoc_catalogue`) in the authors' naming
  ``<texture>_<class>_<vocid>.jpg`` (islamamirul/shape_texture_neuron ``make_stl_voc.py``,
  e.g. ``3_12_2008_000123.jpg``), or as ``adain stylize`` names a rebuild,
  ``<class>_<vocid>-stylized-<texture>.jpg``.

Every image (or, with ``max_pairs``, a seeded sample of them) is the first member of one pair
(:func:`draw_pairs`). Its factor is drawn first:

* ``draw="islam"`` (the default): an integer from {0, 1, 2, 3} (the released loader's
  ``random.randint(0, n_factors)`` with ``n_factors = 3``): 0 makes a shape pair, 1, 2 and 3 a
  texture pair, and only label 1 is scored (2 and 3 count in the total variance only);
* ``draw="two-way"``: 0 or 1 with equal odds, every pair scored (Esser et al.'s ``ColorfulMNIST``,
  Brain-Score's ``Islam2021`` benchmark).

A shape partner is the same content in another texture (the texture drawn uniformly among the
content's others); a texture partner is an image of another class in the same texture (the class drawn
uniformly among the other classes that have this texture, then the image). A first member without
such a partner is dropped and counted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "DRAWS",
    "Catalogue",
    "PairSet",
    "draw_pairs",
    "parse_svoc_name",
    "svoc_catalogue",
    "shard_catalogue",
]

#: The factor draws: name -> the labels drawn (uniformly) for each first member.
DRAWS: dict[str, tuple[int, ...]] = {"islam": (0, 1, 2, 3), "two-way": (0, 1)}

_SVOC = re.compile(r"^(?P<texture>[^_]+)_(?P<label>\d+)_(?P<vocid>\d{4}_\d+)\.(?:jpe?g|png)$", re.IGNORECASE)
_STYLIZED = re.compile(
    r"^(?P<label>\d+)_(?P<vocid>\d{4}_\d+)-stylized-(?P<texture>.+)\.(?:jpe?g|png)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Catalogue:
    """What each image shows.

    Attributes:
        images: one reference per image: a file path (folders) or the row number in
            ``ShardDataset(root, split=split)`` (shards).
        content: the content each image shows (a VOC id, a content path).
        texture: its texture (a texture id, a painting).
        label: the content's class (a VOC class number, a WNID).
        root, split: where the images are: a folder, or (shards) what ``ShardDataset`` reads (a
            folder or a list of shard files) and ``split`` (else ``None``).
        kind: ``"svoc"`` or ``"shards"``.
    """

    images: list
    content: list[str]
    texture: list[str]
    label: list[str]
    root: str | list[str]
    kind: str
    split: str | None = None

    def __len__(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class PairSet:
    """Pairs drawn from a :class:`Catalogue`: ``first[i]`` and ``second[i]`` (``int64 (P,)``
    positions in the catalogue) share the factor ``factors[i]`` (0 shape, 1 texture, 2 or 3 texture
    pairs counted in the variance only); ``dropped``: first members without a partner, per factor
    name."""

    first: np.ndarray
    second: np.ndarray
    factors: np.ndarray
    draw: str
    seed: int
    dropped: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Pairs in all, shape pairs, scored texture pairs and variance-only pairs, and the dropped."""
        return {
            "pairs": int(len(self.factors)),
            "shape": int(np.sum(self.factors == 0)),
            "texture": int(np.sum(self.factors == 1)),
            "variance_only": int(np.sum(self.factors >= 2)),
            "dropped_shape": int(self.dropped.get("shape", 0)),
            "dropped_texture": int(self.dropped.get("texture", 0)),
        }


def draw_pairs(catalogue: Catalogue, seed: int, draw: str = "islam", max_pairs: int | None = None) -> PairSet:
    """One pair per first member (every image, or ``max_pairs`` of them drawn without replacement).

    Args:
        catalogue: the images.
        seed: the draws' seed (numpy ``default_rng``); the same seed gives the same pairs.
        draw: ``islam`` (four labels, 0 shape, 1-3 texture) or ``two-way`` (0 shape, 1 texture).
        max_pairs: at most this many first members (``None`` or 0: all).

    Raises:
        ValueError: an unknown draw, or a catalogue in which no content appears in two textures or
            no texture under two classes.
    """
    if draw not in DRAWS:
        raise ValueError(f"unknown pair draw {draw!r}; use one of {', '.join(DRAWS)}")
    count = len(catalogue)
    by_content: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_texture: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (content, texture, label) in enumerate(zip(catalogue.content, catalogue.texture, catalogue.label)):
        by_content[content][texture].append(i)
        by_texture[texture][label].append(i)
    if not any(len(textures) > 1 for textures in by_content.values()):
        raise ValueError(
            f"no content of {_where(catalogue)} appears in two textures: shape pairs need every content "
            "stylized at least twice (a run with styles_per_image >= 2)"
        )
    if not any(len(labels) > 1 for labels in by_texture.values()):
        raise ValueError(f"no texture of {_where(catalogue)} appears under two classes: no texture pairs")
    rng = np.random.default_rng(seed)
    order = np.arange(count)
    if max_pairs and max_pairs < count:
        order = np.sort(rng.choice(count, size=max_pairs, replace=False))
    labels = DRAWS[draw]
    first, second, factors = [], [], []
    dropped = {"shape": 0, "texture": 0}
    for i in order.tolist():
        factor = labels[int(rng.integers(len(labels)))]
        content, texture, label = catalogue.content[i], catalogue.texture[i], catalogue.label[i]
        if factor == 0:
            groups = by_content[content]
            keys = sorted(t for t in groups if t != texture)
        else:
            groups = by_texture[texture]
            keys = sorted(c for c in groups if c != label)
        if not keys:
            dropped["shape" if factor == 0 else "texture"] += 1
            continue
        candidates = groups[keys[int(rng.integers(len(keys)))]]
        first.append(i)
        second.append(candidates[int(rng.integers(len(candidates)))])
        factors.append(factor)
    return PairSet(
        np.asarray(first, dtype=np.int64),
        np.asarray(second, dtype=np.int64),
        np.asarray(factors, dtype=np.int64),
        draw,
        seed,
        dropped,
    )


def _where(catalogue: Catalogue) -> str:
    root = catalogue.root
    return root if isinstance(root, str) else f"{len(root)} shard files"


def parse_svoc_name(name: str) -> tuple[str, str, str]:
    """A Stylized-VOC file name -> ``(texture, class, vocid)``.

    ``3_12_2008_000123.jpg`` (the authors' ``<texture>_<class>_<vocid>``) and
    ``12_2008_000123-stylized-cracked_0048.jpg`` (``adain stylize`` of a content named
    ``<class>_<vocid>.jpg``) give ``("3", "12", "2008_000123")`` and
    ``("cracked_0048", "12", "2008_000123")``.

    Raises:
        ValueError: neither naming.
    """
    match = _SVOC.match(name) or _STYLIZED.match(name)
    if not match:
        raise ValueError(
            f"{name!r} is not a Stylized-VOC name like '3_12_2008_000123.jpg' (<texture>_<class>_<vocid>) "
            "or '12_2008_000123-stylized-<texture>.jpg'"
        )
    return match["texture"], match["label"], match["vocid"]


def svoc_catalogue(root: str | Path, textures: Sequence[str] | None = None) -> Catalogue:
    """Every Stylized-VOC image under ``root`` (sorted), optionally only the given texture ids.

    Raises:
        ValueError: a missing folder, an image whose name is not Stylized-VOC's, or no images.
    """
    from ..files.imagefiles import list_images

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"Stylized-VOC folder {root} does not exist")
    keep = set(textures) if textures else None
    images, content, texture, label = [], [], [], []
    for path in list_images(root, ("jpg", "jpeg", "png")):
        tex, cls, vocid = parse_svoc_name(path.name)
        if keep is not None and tex not in keep:
            continue
        images.append(str(path))
        content.append(f"{cls}_{vocid}")
        texture.append(tex)
        label.append(cls)
    if not images:
        raise ValueError(f"no Stylized-VOC images under {root}" + (f" with textures {sorted(keep)}" if keep else ""))
    return Catalogue(images, content, texture, label, str(root), "svoc")


def shard_catalogue(root: str | Path | Sequence[str | Path], split: str | None = None) -> Catalogue:
    """Every sample of a run's shards (a workflow output folder, a folder of shards, one shard or a
    list of shard files), optionally of one split: content path, painting and WNID, in
    ``ShardDataset`` order.

    Raises:
        ValueError: no shards (for the split).
    """
    import h5py

    from ..data import ShardDataset

    dataset = ShardDataset(root, split=split)
    if not len(dataset):
        raise ValueError(f"no shard images under {root}" + (f" for split {split!r}" if split else ""))
    content, texture, label = [], [], []
    for info in dataset.infos:
        with h5py.File(info.path, "r") as handle:
            for name, column in (("content", content), ("style", texture), ("wnid", label)):
                column += [value.decode("utf-8", "backslashreplace") for value in handle[name][()]]
    source = str(root) if isinstance(root, (str, Path)) else [str(p) for p in root]
    return Catalogue(list(range(len(dataset))), content, texture, label, source, "shards", split)

"""ImageNet's 1000 classes and the 16 entry-level categories of the cue-conflict experiments.

The 16 categories and their 207 ImageNet indices are those of Geirhos et al. (2019)
(rgeirhos/texture-vs-shape ``helper/human_categories.py``, also used by bethgelab/model-vs-human).
A 1000-way softmax becomes a 16-way decision by aggregating, per category, the probabilities of its
indices (the mean by default, as both projects do) and taking the arg max.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import torch

__all__ = [
    "CATEGORIES",
    "CATEGORY_INDICES",
    "imagenet_wnids",
    "category_of_index",
    "category_of_wnid",
    "to_sixteen",
]

_RUNS = tuple[tuple[int, int], ...]


def _expand(runs: _RUNS) -> tuple[int, ...]:
    """Inclusive ``(first, last)`` runs -> the indices they cover."""
    return tuple(i for first, last in runs for i in range(first, last + 1))


#: Category -> its ImageNet class indices (the standard order: sorted WNIDs, torchvision's).
CATEGORY_INDICES: dict[str, tuple[int, ...]] = {
    "airplane": (404,),
    "bear": (294, 295, 296, 297),
    "bicycle": (444, 671),
    "bird": _expand(((8, 8), (10, 16), (18, 20), (22, 24), (80, 83), (87, 96), (98, 100), (127, 133), (135, 145))),
    "boat": (472, 554, 625, 814, 914),
    "bottle": (440, 720, 737, 898, 899, 901, 907),
    "car": (436, 511, 817),
    "cat": (281, 282, 283, 284, 285, 286),
    "chair": (423, 559, 765, 857),
    "clock": (409, 530, 892),
    "dog": _expand(
        ((152, 191), (193, 203), (205, 226), (228, 241), (243, 250), (252, 257), (259, 259), (261, 263), (265, 268))
    ),
    "elephant": (385, 386),
    "keyboard": (508, 878),
    "knife": (499,),
    "oven": (766,),
    "truck": (555, 569, 656, 675, 717, 734, 864, 867),
}

#: The 16 categories in alphabetical order: the order of every 16-way tensor here.
CATEGORIES: tuple[str, ...] = tuple(sorted(CATEGORY_INDICES))


@lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ILSVRC-2012 WNIDs in class-index order (sorted, as torchvision's ImageFolder)."""
    text = resources.files("adain.evaluation").joinpath("imagenet_wnids.txt").read_text()
    return tuple(text.split())


@lru_cache(maxsize=1)
def _index_to_category() -> dict[int, str]:
    return {i: name for name, indices in CATEGORY_INDICES.items() for i in indices}


def category_of_index(index: int) -> str | None:
    """The category of an ImageNet class index, or ``None`` if it is in none of the 16."""
    return _index_to_category().get(int(index))


def category_of_wnid(wnid: str) -> str | None:
    """The category of a WNID (e.g. ``n02690373`` -> ``airplane``), or ``None``."""
    try:
        return category_of_index(imagenet_wnids().index(wnid))
    except ValueError:
        return None


def to_sixteen(probabilities: torch.Tensor, aggregation: str = "mean") -> torch.Tensor:
    """Aggregate 1000-way probabilities into the 16 categories.

    Args:
        probabilities: ``(N, 1000)`` softmax outputs.
        aggregation: ``mean`` (texture-vs-shape, model-vs-human) or ``sum`` of each category's
            probabilities.

    Returns:
        ``(N, 16)`` scores in :data:`CATEGORIES` order; the decision is their arg max.
    """
    if probabilities.ndim != 2 or probabilities.shape[1] != 1000:
        raise ValueError(f"expected (N, 1000) ImageNet probabilities, got {tuple(probabilities.shape)}")
    if aggregation not in ("mean", "sum"):
        raise ValueError(f"aggregation must be 'mean' or 'sum', got {aggregation!r}")
    columns = []
    for name in CATEGORIES:
        picked = probabilities[:, list(CATEGORY_INDICES[name])]
        columns.append(picked.mean(dim=1) if aggregation == "mean" else picked.sum(dim=1))
    return torch.stack(columns, dim=1)

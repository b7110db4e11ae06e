"""REFINED-BIAS (Kim et al., arXiv 2603.10834, 2026; data and code: PumjunKim/REFINED-BIAS): a
classifier's sensitivity to shape cues and to texture cues over the full 1000-class label space.

Data layout (the authors' ``refined_bias/datasets``)::

    <data>/refined_bias_shape/<label>/<name>.png       10 labels x 300 shape-cue images
    <data>/refined_bias_texture/<label>/<name>.png     10 labels x 300 texture-cue images

Any subset of the label folders (and either cue folder alone) is read the same way.

Per image: ``Resize(256)``, ``CenterCrop(224)`` (torchvision's, on PIL images), ImageNet mean and
std; the softmax of the logits; the **reciprocal rank** ``1 / r`` of the correct label, where
``r = 1 + (classes with a higher probability than the label's best-ranked ImageNet class)`` — a label
that maps to several classes (``clock``: analog, digital and wall clock) counts its best one, as the
authors' metric does when it looks for the label's first occurrence in the ranked list. RB_S and
RB_T are the mean reciprocal ranks over the shape and the texture images;
``rb_rel_shape = RB_S / (RB_S + RB_T)`` and ``rb_rel_texture = RB_T / (RB_S + RB_T)``.

Ties: a class whose probability *equals* the label's counts as ranked below it (the label gets the
best rank of its tie); the authors' ``np.argsort`` leaves the order of ties to numpy.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .. import __version__
from ..files.atomic import atomic_write_text

__all__ = [
    "REFINED_BIAS_CLASSES",
    "CUE_FOLDERS",
    "class_indices",
    "reciprocal_ranks",
    "RefinedBiasImage",
    "list_refined_bias",
    "summarize",
    "run_refined_bias",
]

log = logging.getLogger(__name__)

#: The folder of each cue in the authors' ``datasets`` folder.
CUE_FOLDERS: dict[str, str] = {"shape": "refined_bias_shape", "texture": "refined_bias_texture"}

#: Label folder -> its ImageNet classes as ``(WNID, torchvision's category name)``, per cue. The
#: WNIDs are the authors' label table (PumjunKim/REFINED-BIAS ``refined_bias/utils.py``,
#: ``set_class_mappings``, commit 8655b6be); the names are what torchvision's ImageNet weights call
#: those classes (checked by :func:`class_indices`, which takes the indices from torchvision).
REFINED_BIAS_CLASSES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "shape": {
        "balloon": (("n02782093", "balloon"),),
        "book": (("n06596364", "comic book"),),
        "camera": (("n03976467", "Polaroid camera"), ("n04069434", "reflex camera")),
        "cassette": (("n02978881", "cassette"),),
        "clock": (("n02708093", "analog clock"), ("n03196217", "digital clock"), ("n04548280", "wall clock")),
        "hourglass": (("n03544143", "hourglass"),),
        "ipod": (("n03584254", "iPod"),),
        "mouse": (("n03793489", "mouse"),),
        "revolver": (("n04086273", "revolver"),),
        "soccer_ball": (("n04254680", "soccer ball"),),
    },
    "texture": {
        "brain_coral": (("n01917289", "brain coral"),),
        "broccoli": (("n07714990", "broccoli"),),
        "cheetah": (("n02130308", "cheetah"),),
        "dishrag": (("n03207743", "dishrag"),),
        "elephant": (("n02504013", "Indian elephant"), ("n02504458", "African elephant")),
        "honeycomb": (("n03530642", "honeycomb"),),
        "porcupine": (("n02346627", "porcupine"),),
        "strawberry": (("n07745940", "strawberry"),),
        "tiger": (("n02129604", "tiger"),),
        "zebra": (("n02391049", "zebra"),),
    },
}


@lru_cache(maxsize=1)
def _torchvision_categories() -> tuple[str, ...]:
    import torchvision

    return tuple(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


@lru_cache(maxsize=2)
def class_indices(cue: str) -> dict[str, tuple[int, ...]]:
    """Label -> its ImageNet class indices, looked up by name in torchvision's weights metadata and
    checked against the WNID order (sorted WNIDs, :func:`adain.evaluation.categories.imagenet_wnids`).

    Raises:
        ValueError: an unknown cue. RuntimeError: torchvision's names and the WNIDs disagree.
    """
    from .categories import imagenet_wnids

    if cue not in REFINED_BIAS_CLASSES:
        raise ValueError(f"unknown cue {cue!r}; use one of {', '.join(REFINED_BIAS_CLASSES)}")
    names, wnids = _torchvision_categories(), imagenet_wnids()
    table = {}
    for label, classes in REFINED_BIAS_CLASSES[cue].items():
        indices = []
        for wnid, name in classes:
            index = names.index(name)
            if names.count(name) != 1 or wnids[index] != wnid:
                raise RuntimeError(f"{label}: torchvision's {name!r} is not ImageNet class {wnid}")
            indices.append(index)
        table[label] = tuple(indices)
    return table


def reciprocal_ranks(
    probabilities: torch.Tensor, targets: Sequence[Sequence[int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank and reciprocal rank of each row's target.

    Args:
        probabilities: ``(N, C)`` scores (softmax outputs; any monotone score ranks the same).
        targets: per row, the indices of the classes that count as correct (at least one).

    Returns:
        ``(ranks, reciprocal)``: ``int64 (N,)`` ranks from 1 (the best-ranked target class; a class
        tied with it is ranked below) and ``float64 (N,)`` ``1 / rank``.
    """
    if probabilities.ndim != 2 or len(targets) != probabilities.shape[0]:
        raise ValueError(f"need (N, C) scores and N targets, got {tuple(probabilities.shape)} and {len(targets)}")
    if any(len(t) == 0 for t in targets):
        raise ValueError("every row needs at least one target class")
    best = torch.stack([probabilities[i, list(t)].max() for i, t in enumerate(targets)])
    ranks = 1 + (probabilities > best[:, None]).sum(dim=1)
    return ranks, 1.0 / ranks.double()


@dataclass(frozen=True)
class RefinedBiasImage:
    """One image: its path, cue (``shape``/``texture``) and label folder."""

    path: Path
    cue: str
    label: str


def list_refined_bias(data: str | Path, extensions: Sequence[str] = ("png", "jpg", "jpeg")) -> list[RefinedBiasImage]:
    """The images under ``data``: the authors' ``datasets`` folder (either cue folder may be absent)
    or one cue folder itself; label folders may be any subset. Sorted by cue, label and path.

    Raises:
        ValueError: no cue folder, a label folder that is not the cue's, or no images.
    """
    from ..files.imagefiles import list_images

    data = Path(data)
    if not data.is_dir():
        raise ValueError(f"REFINED-BIAS folder {data} does not exist")
    roots = {cue: data / folder for cue, folder in CUE_FOLDERS.items() if (data / folder).is_dir()}
    for cue, folder in CUE_FOLDERS.items():
        if data.name == folder:
            roots = {cue: data}
    if not roots:
        raise ValueError(f"{data} holds neither {' nor '.join(CUE_FOLDERS.values())} (the REFINED-BIAS datasets)")
    images = []
    for cue, root in roots.items():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            if folder.name not in REFINED_BIAS_CLASSES[cue]:
                raise ValueError(
                    f"{folder}: not a REFINED-BIAS {cue} label (they are {', '.join(REFINED_BIAS_CLASSES[cue])})"
                )
            images += [RefinedBiasImage(path, cue, folder.name) for path in list_images(folder, extensions)]
    if not images:
        raise ValueError(f"no images under {data}")
    return images


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(images: Sequence[RefinedBiasImage], reciprocal: Sequence[float]) -> dict:
    """RB_S, RB_T (``None`` without images of that cue), the relative shares (``None`` unless both
    exist and one is positive), image counts, and ``per_class``: cue -> label -> ``images``, ``rb``."""
    by_cue: dict[str, list[float]] = {cue: [] for cue in CUE_FOLDERS}
    per_class: dict[str, dict[str, list[float]]] = {cue: {} for cue in CUE_FOLDERS}
    for image, value in zip(images, reciprocal):
        by_cue[image.cue].append(float(value))
        per_class[image.cue].setdefault(image.label, []).append(float(value))
    rb_s, rb_t = _mean(by_cue["shape"]), _mean(by_cue["texture"])
    both = rb_s is not None and rb_t is not None and rb_s + rb_t > 0
    return {
        "rb_s": rb_s,
        "rb_t": rb_t,
        "rb_rel_shape": rb_s / (rb_s + rb_t) if both else None,
        "rb_rel_texture": rb_t / (rb_s + rb_t) if both else None,
        "images": {cue: len(values) for cue, values in by_cue.items()},
        "per_class": {
            cue: {label: {"images": len(v), "rb": _mean(v)} for label, v in sorted(labels.items())}
            for cue, labels in per_class.items()
        },
    }


def run_refined_bias(
    name: str,
    arch: str | None,
    weights: str | Path,
    data: str | Path,
    out_json: str | Path,
    device: str = "auto",
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
) -> dict:
    """REFINED-BIAS of one classifier: writes ``out_json`` (the summary's keys ``rb_s``, ``rb_t``,
    ``rb_rel_shape``, ``rb_rel_texture``, ``per_class``, with provenance) and, beside it, one CSV row
    per image (path, cue, label, rank, reciprocal rank, top-1 class). Returns the summary."""
    from tqdm import tqdm

    from ..engine.device import resolve_device
    from ..engine.image_dataset import ImageDataset, iterate_images
    from ..engine.images import Preprocess
    from ..files.hashing import file_sha256
    from .classifier import load_classifier, predict, resolve_weights

    images = list_refined_bias(data)
    targets = [class_indices(image.cue)[image.label] for image in images]
    torch_device = resolve_device(device)
    weights = resolve_weights(arch, weights)
    model = load_classifier(arch, weights, torch_device)
    names = _torchvision_categories()
    dataset = ImageDataset([image.path for image in images], Preprocess("resize-crop", 256, 224), decode="exact")
    ranks: list[int | None] = [None] * len(images)
    reciprocal: list[float | None] = [None] * len(images)
    top1: list[str] = [""] * len(images)
    skipped = []
    batch: list[tuple[int, torch.Tensor]] = []

    def run() -> None:
        probabilities = predict(model, torch.stack([image for _, image in batch]), torch_device)
        found, inverse = reciprocal_ranks(probabilities, [targets[i] for i, _ in batch])
        for (index, _), rank, value, best in zip(batch, found.tolist(), inverse.tolist(), probabilities.argmax(1)):
            ranks[index], reciprocal[index], top1[index] = rank, value, names[int(best)]
        bar.update(len(batch))
        batch.clear()

    with tqdm(total=len(images), unit="img", desc=f"refined-bias {name}", disable=not progress) as bar:
        for index, image, reason in iterate_images(dataset, workers):
            if image is None:
                skipped.append({"path": str(images[index].path), "reason": reason})
                log.warning("skipped %s: %s", images[index].path, reason)
                bar.update(1)
                continue
            batch.append((index, image))
            if len(batch) == batch_size:
                run()
        if batch:
            run()
    kept = [i for i, value in enumerate(reciprocal) if value is not None]
    if not kept:
        raise ValueError(f"no image of {data} could be read ({len(skipped)} skipped)")
    summary = {
        "model": name,
        "arch": arch,
        "weights": str(weights),
        "weights_sha256": file_sha256(weights),
        "data": str(data),
        **summarize([images[i] for i in kept], [reciprocal[i] for i in kept]),
        "skipped": skipped,
        "package_version": __version__,
    }
    out_json = Path(out_json)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["path", "cue", "label", "rank", "reciprocal_rank", "top1"])
    for i in kept:
        writer.writerow([images[i].path, images[i].cue, images[i].label, ranks[i], reciprocal[i], top1[i]])
    atomic_write_text(out_json.with_suffix(".csv"), table.getvalue())
    atomic_write_text(out_json, json.dumps(summary, indent=1) + "\n")
    return summary

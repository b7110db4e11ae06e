"""Accuracy of an ImageNet classifier on our HDF5 shards (e.g. stylized validation shards).

Ground truth is each image's WNID (stored in the shard), mapped to the standard 1000-class index
(:func:`adain.evaluation.categories.imagenet_wnids`), so shards of any subset of ImageNet classes are scored
correctly. Reported: top-1 and top-5 over the images whose WNID is an ILSVRC-2012 class, top-1 per
WNID, and 16-class accuracy (:mod:`adain.evaluation.categories`) over the images of the 16 categories.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import __version__
from ..data import ShardDataset
from ..engine.device import resolve_device
from ..files.atomic import atomic_write_text
from ..files.hashing import file_sha256
from .categories import category_of_wnid, imagenet_wnids
from .classifier import load_classifier, predict, resolve_weights
from .shapebias import decide

__all__ = ["FitSquare", "evaluate_shards", "run_accuracy"]

log = logging.getLogger(__name__)


class FitSquare:
    """``uint8 (3, H, W)`` -> ``(3, size, size)``: ``Resize(size)`` (bilinear, antialiased) and
    ``CenterCrop(size)``; an image already ``size x size`` is returned as it is."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if tuple(image.shape[-2:]) == (self.size, self.size):
            return image
        image = TF.resize(image, [self.size], antialias=True)
        return TF.center_crop(image, [self.size, self.size])


def _collate(batch: list) -> tuple[torch.Tensor, list[dict]]:
    shapes = {tuple(image.shape) for image, _, _ in batch}
    if len(shapes) > 1:
        raise ValueError(f"images of several sizes {sorted(shapes)} in one batch: give a size (e.g. 224)")
    return torch.stack([image for image, _, _ in batch]), [meta for _, _, meta in batch]


def evaluate_shards(
    model: torch.nn.Module,
    root: str | Path,
    split: str | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    workers: int = 2,
    size: int = 224,
    aggregation: str = "mean",
    progress: bool = True,
) -> tuple[dict, list[dict]]:
    """Classify every image of the shards under ``root`` (optionally one ``split``).

    Returns:
        ``(result, rows)``: the accuracies and counts, and one row per image (content path, WNID,
        predicted index and WNID, top-1 correct, 16-class category and decision).
    """
    dataset = ShardDataset(root, transform=FitSquare(size) if size else None, split=split, metadata=True)
    if not len(dataset):
        raise ValueError(f"no shard images under {root}" + (f" for split {split!r}" if split else ""))
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=_collate)
    wnids = imagenet_wnids()
    index_of = {wnid: i for i, wnid in enumerate(wnids)}
    rows: list[dict] = []
    with tqdm(total=len(dataset), unit="img", desc="accuracy", disable=not progress) as bar:
        for images, metas in loader:
            probabilities = predict(model, images, device)
            top5 = probabilities.topk(5, dim=1).indices.tolist()
            decisions = decide(probabilities, aggregation)
            for meta, best, decision in zip(metas, top5, decisions):
                target = index_of.get(meta["wnid"], -1)
                category = category_of_wnid(meta["wnid"])
                rows.append(
                    {
                        "content": meta["content"],
                        "wnid": meta["wnid"],
                        "target": target,
                        "predicted": best[0],
                        "predicted_wnid": wnids[best[0]],
                        "top1": int(best[0] == target),
                        "top5": int(target in best),
                        "category": category or "",
                        "decision": decision if category else "",
                    }
                )
            bar.update(len(metas))
    known = [r for r in rows if r["target"] >= 0]
    sixteen = [r for r in rows if r["category"]]
    per_wnid: dict[str, dict] = {}
    for row in known:
        entry = per_wnid.setdefault(row["wnid"], {"images": 0, "top1": 0})
        entry["images"] += 1
        entry["top1"] += row["top1"]
    result = {
        "images": len(rows),
        "unknown_wnid": len(rows) - len(known),
        "top1": sum(r["top1"] for r in known) / len(known) if known else None,
        "top5": sum(r["top5"] for r in known) / len(known) if known else None,
        "sixteen_class": {
            "images": len(sixteen),
            "accuracy": sum(r["decision"] == r["category"] for r in sixteen) / len(sixteen) if sixteen else None,
            "aggregation": aggregation,
        },
        "per_wnid": {w: {"images": e["images"], "top1": e["top1"] / e["images"]} for w, e in sorted(per_wnid.items())},
    }
    if result["unknown_wnid"]:
        log.warning(
            "%d images have a WNID outside ILSVRC-2012's 1000 classes: not in top-1/top-5", result["unknown_wnid"]
        )
    return result, rows


def run_accuracy(
    arch: str | None,
    weights: str | Path,
    root: str | Path,
    output: str | Path,
    split: str | None = None,
    device: str = "auto",
    batch_size: int = 64,
    workers: int = 2,
    size: int = 224,
    aggregation: str = "mean",
    progress: bool = True,
) -> dict:
    """:func:`evaluate_shards` for a classifier file; writes ``output`` (JSON summary) and, beside
    it, the per-image predictions (``<output stem>.csv``). Returns the summary."""
    torch_device = resolve_device(device)
    weights = resolve_weights(arch, weights)
    model = load_classifier(arch, weights, torch_device)
    result, rows = evaluate_shards(model, root, split, torch_device, batch_size, workers, size, aggregation, progress)
    summary = {
        "arch": arch,
        "weights": str(weights),
        "weights_sha256": file_sha256(weights),
        "shards": str(root),
        "split": split,
        "size": size,
        "result": result,
        "package_version": __version__,
    }
    output = Path(output)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(output.with_suffix(".csv"), table.getvalue())
    atomic_write_text(output, json.dumps(summary, indent=1) + "\n")
    return summary

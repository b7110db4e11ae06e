"""The end of a run: counts per split and class, all rejects, speed, and a sample grid."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Sequence

from PIL import Image

from .atomic import atomic_path, atomic_write_text
from .images import Preprocess, open_rgb
from .index import iter_index
from .shards import read_shard

__all__ = ["summarize", "sample_grid"]


def _read_tsv(path: str | Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def sample_grid(
    shards: Sequence[str | Path],
    out_png: str | Path,
    content_dir: str | Path | None = None,
    content_recipe: Preprocess | None = None,
    count: int = 8,
    cell: int = 160,
) -> int:
    """A grid of up to ``count`` images (first of each shard, then the next): the content as
    preprocessed (when ``content_dir`` is reachable) beside the stylized image. Returns how many."""
    pairs = []
    datas = [read_shard(s) for s in shards]
    for position in range(count):
        for data in datas:
            if len(pairs) < count and position < len(data):
                stylized = Image.fromarray(data.pixels(position))
                content = None
                if content_dir is not None and (Path(content_dir) / data.content[position]).is_file():
                    content = open_rgb(Path(content_dir) / data.content[position])
                    content = (content_recipe or Preprocess())(content)
                pairs.append((content, stylized, data.content[position]))
    columns = 2 if content_dir is not None else 1
    grid = Image.new("RGB", (columns * cell, max(1, len(pairs)) * cell), (255, 255, 255))
    for row, (content, stylized, _) in enumerate(pairs):
        for column, image in enumerate([content, stylized][-columns:]):
            if image is not None:
                image = image.copy()
                image.thumbnail((cell, cell), Image.BILINEAR)
                grid.paste(image, (column * cell + (cell - image.width) // 2, row * cell + (cell - image.height) // 2))
    with atomic_path(out_png) as tmp:
        grid.save(tmp, format="PNG")
    return len(pairs)


def summarize(
    images_tsv: str | Path,
    painting_rejects: Sequence[str | Path],
    reports: Sequence[str | Path],
    shards: Sequence[str | Path],
    summary_json: str | Path,
    rejects_tsv: str | Path,
    grid_png: str | Path,
    content_dir: str | Path | None = None,
    content_recipe: Preprocess | None = None,
    notes: Sequence[str] = (),
) -> dict:
    """Write the run's summary, the list of every reject and a sample grid.

    Raises:
        RuntimeError: the counts do not add up (indexed != packed + rejected).
    """
    indexed: Counter = Counter()
    wnid_of_label: dict[int, str] = {}
    for record in iter_index(images_tsv):  # streamed: memory flat in the number of images
        indexed[record.split] += 1
        wnid_of_label[record.label] = record.wnid
    packed: Counter = Counter()
    per_class: dict[str, Counter] = {}
    rejects = []
    seconds = images = 0.0
    for report_path, shard in zip(reports, shards):
        report = json.loads(Path(report_path).read_text())
        split = Path(shard).parent.name
        packed[split] += report["images"]
        for label, n in report["labels"].items():
            per_class.setdefault(split, Counter())[wnid_of_label[int(label)]] += n
        rejects += [(split, "content", c, reason) for c, reason in report["rejected"].items()]
        seconds += report["stylize_seconds"]
        images += report["images_per_second"] * report["stylize_seconds"]
    rejected = Counter(split for split, *_ in rejects)
    for path in painting_rejects:
        rejects += [("-", "painting", row["painting"], row["reason"]) for row in _read_tsv(path)]
    with atomic_path(rejects_tsv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["split", "kind", "file", "reason"])
        writer.writerows(sorted(rejects))
    for split in indexed:
        if indexed[split] != packed[split] + rejected[split]:
            raise RuntimeError(
                f"split {split}: {indexed[split]} indexed != {packed[split]} packed + {rejected[split]} rejected"
            )
    summary = {
        "splits": {
            split: {"indexed": indexed[split], "packed": packed[split], "rejected": rejected[split],
                    "classes": dict(sorted(per_class.get(split, {}).items()))}
            for split in sorted(indexed)
        },
        "paintings_rejected": sum(1 for r in rejects if r[1] == "painting"),
        "shards": len(shards),
        "stylize_seconds": round(seconds, 3),
        "images_per_second": round(images / seconds, 2) if seconds else 0.0,
        "notes": list(notes),
    }
    atomic_write_text(summary_json, json.dumps(summary, indent=1))
    sample_grid(shards[:4], grid_png, content_dir, content_recipe)
    return summary

"""``adain export --format hf``: shards as a Hugging Face dataset folder.

The folder is what ``datasets.load_dataset(folder)`` reads unchanged (and the Hub shows)::

    <dest>/README.md                                  dataset card: YAML header (configs, features, splits,
                                                      licence notes, source_datasets, task_categories) + text
    <dest>/data/<split>-00000-of-00003.parquet        ~max_shard_mb each, row groups of 100 images

Columns: ``image`` (Image: PNG bytes of the stored pixels, or an encoded shard's own bytes),
``label`` (ClassLabel named by WNID, in the shards' label order), ``painting`` and ``content``
(paths below the painting and content folders) and ``k`` (the sample's number among its image's
styles). Every path is built here and stays inside ``dest``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
from PIL import Image
from tqdm import tqdm

from ..data import find_shards, shard_split
from ..files.atomic import atomic_path
from ..shards.format import read_shard
from ..stages.fingerprints import recorded_stylization

__all__ = ["export_hf", "class_names"]

#: Images per Parquet row group: what `datasets` itself writes for image data (small reads when streaming).
ROW_GROUP = 100


def class_names(shards: list[Path]) -> list[str]:
    """The WNID of every label 0..max over ``shards`` (labels never seen: ``label_<n>``).

    Raises:
        ValueError: one label with two WNIDs (shards of different class lists).
    """
    wnids: dict[int, str] = {}
    for shard in shards:
        with h5py.File(shard, "r") as handle:
            for label, wnid in zip(handle["labels"][()].tolist(), handle["wnid"][()]):
                wnid = wnid.decode() if isinstance(wnid, bytes) else str(wnid)
                if wnids.setdefault(int(label), wnid) != wnid:
                    raise ValueError(f"{shard}: label {label} is {wnid} here and {wnids[label]} elsewhere")
    return [wnids.get(i, f"label_{i}") for i in range(max(wnids, default=-1) + 1)]


def _readable_names() -> dict[str, str]:
    """ILSVRC-2012 WNID -> the common English name (torchvision's category list, no download)."""
    from importlib.resources import files

    try:
        from torchvision.models import ResNet50_Weights

        categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    except Exception:  # noqa: BLE001 - names are a courtesy; the WNIDs are the labels
        return {}
    wnids = files("adain.evaluation").joinpath("imagenet_wnids.txt").read_text().split()
    return dict(zip(wnids, categories)) if len(wnids) == len(categories) else {}


def _features(names: list[str]) -> dict:
    """The columns in `datasets`' own JSON form (stored in each Parquet file's schema)."""
    return {
        "image": {"_type": "Image"},
        "label": {"names": names, "_type": "ClassLabel"},
        "painting": {"dtype": "string", "_type": "Value"},
        "content": {"dtype": "string", "_type": "Value"},
        "k": {"dtype": "int32", "_type": "Value"},
    }


def _schema(names: list[str]):
    import pyarrow as pa

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [
        ("image", image),
        ("label", pa.int64()),
        ("painting", pa.string()),
        ("content", pa.string()),
        ("k", pa.int32()),
    ]
    metadata = {"huggingface": json.dumps({"info": {"features": _features(names)}})}
    return pa.schema(fields, metadata=metadata)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _rows(shard: Path, encoders: ThreadPoolExecutor) -> Iterator[dict]:
    data = read_shard(shard)
    ks = [k for _, k in data.samples()]
    if data.codec in ("png", "jpeg"):  # the stored bytes are the image: decoded, the same pixels
        images = (data.images[i].tobytes() for i in range(len(data)))
        extension = {"png": "png", "jpeg": "jpg"}[data.codec]
    else:
        images = encoders.map(_png, (data.pixels(i) for i in range(len(data))))
        extension = "png"
    for i, image in enumerate(images):
        yield {
            "image": {"bytes": image, "path": f"{shard.stem}_{i:06d}.{extension}"},
            "label": int(data.labels[i]),
            "painting": data.style[i],
            "content": data.content[i],
            "k": int(ks[i]),
        }


def _split_name(split: str) -> str:
    """A split name `datasets` accepts (``\\w+``) and a file name that stays in its folder."""
    return re.sub(r"\W", "_", split) or "train"


def export_hf(path: str | Path, dest: str | Path, max_shard_mb: float = 500.0, workers: int = 4) -> dict[str, int]:
    """Write the shards below ``path`` (a workflow output folder, a folder of shards or one shard)
    as a Hugging Face dataset in the new or empty folder ``dest``.

    Returns:
        Images written per split.

    Raises:
        FileExistsError: ``dest`` holds files already (an older export's files would be read too).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: export into a new or empty folder")
    shards = find_shards(path)
    if not shards:
        raise ValueError(f"{path}: no shards found")
    names = class_names(shards)
    schema = _schema(names)
    by_split: dict[str, list[Path]] = {}
    for shard in shards:
        by_split.setdefault(_split_name(shard_split(shard)), []).append(shard)
    counts, sizes, files = {}, {}, {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as encoders:
        for split, split_shards in sorted(by_split.items()):
            counts[split], sizes[split], files[split] = 0, 0, []
            writer, written_bytes, rows = None, 0, []

            def flush(rows: list, writer) -> None:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema), row_group_size=ROW_GROUP)

            for shard in tqdm(split_shards, desc=f"export {split}", unit="shard"):
                for row in _rows(shard, encoders):
                    if writer is None:
                        part = dest / "data" / f".{split}-{len(files[split]):05d}.parquet.part"
                        part.parent.mkdir(parents=True, exist_ok=True)
                        files[split].append(part)
                        writer, written_bytes = pq.ParquetWriter(part, schema), 0
                    rows.append(row)
                    written_bytes += len(row["image"]["bytes"])
                    counts[split] += 1
                    if len(rows) == ROW_GROUP:
                        flush(rows, writer)
                        rows = []
                    if written_bytes >= max_shard_mb * 1e6:
                        if rows:
                            flush(rows, writer)
                            rows = []
                        writer.close()
                        sizes[split] += written_bytes
                        writer = None
            if rows:
                flush(rows, writer)
            if writer is not None:
                writer.close()
                sizes[split] += written_bytes
    for split, parts in files.items():  # final names once the count is known
        for i, part in enumerate(parts):
            part.rename(part.with_name(f"{split}-{i:05d}-of-{len(parts):05d}.parquet"))
    card = hf_card(path, names, counts, sizes, _first_attrs(shards[0]))
    with atomic_path(dest / "README.md") as tmp:
        tmp.write_text(card)
    return counts


def _first_attrs(shard: Path) -> dict:
    with h5py.File(shard, "r") as handle:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in handle.attrs.items()}


def hf_card(source: str | Path, names: list[str], counts: dict[str, int], sizes: dict[str, int], attrs: dict) -> str:
    """The dataset card: a YAML header `datasets` and the Hub read, then what the data is."""
    import yaml

    readable = _readable_names()
    header = {
        "pretty_name": f"{'Stylized-ImageNet' if attrs.get('method') == 'adain' else 'ImageNet'} "
        f"({attrs.get('method', '?')}, preset {attrs.get('preset', '?')}), made with adain-datasets",
        "license": "other",
        "license_name": "imagenet-terms-and-painter-by-numbers",
        "source_datasets": ["extended|imagenet-1k"],
        "task_categories": ["image-classification"],
        "tags": ["stylized-imagenet", "style-transfer", "shape-bias", "adain"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in sorted(counts)],
            }
        ],
        "dataset_info": {
            "features": [
                {"name": "image", "dtype": "image"},
                {"name": "label", "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(names)}}}},
                {"name": "painting", "dtype": "string"},
                {"name": "content", "dtype": "string"},
                {"name": "k", "dtype": "int32"},
            ],
            "splits": [
                {"name": split, "num_bytes": sizes[split], "num_examples": counts[split]} for split in sorted(counts)
            ],
        },
    }
    classes = "\n".join(f"| {i} | {n} | {readable.get(n, '')} |" for i, n in enumerate(names))
    attrs = {
        **attrs,
        "stylization_fingerprint": recorded_stylization(attrs),
    }  # either name: older shards say dataset_fingerprint
    provenance = "\n".join(
        f"| {key} | {attrs[key]} |"
        for key in ("preset", "method", "seed", "alpha", "codec", "stylization_fingerprint", "package_version")
        if attrs.get(key) not in (None, "")
    )
    return f"""---
{yaml.safe_dump(header, sort_keys=False, allow_unicode=True)}---

# {header["pretty_name"]}

Exported by `adain export --format hf` from `{Path(source).name}`: {sum(counts.values())} images
({", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))}). Load it with
`datasets.load_dataset("path/to/this/folder")`; `label` is a ClassLabel named by WNID
(`features["label"].int2str`), `painting` the Painter-by-Numbers file that styled the image,
`content` the ImageNet file it was made from, `k` the sample's number among its image's styles.

## Licence notes

- **ImageNet**: the content images are ImageNet's, used under its terms of access (non-commercial
  research and educational use only; the images belong to their owners). Anyone using this
  dataset must have agreed to those terms: https://image-net.org/download.php
- **Painter-by-Numbers** (Kaggle): the paintings come from WikiArt through the Painter-by-Numbers
  competition data; many are still under their artists' copyright. Use for non-commercial
  research, as the competition's rules allow: https://www.kaggle.com/c/painter-by-numbers
- Stylized images are derived works of both; this export adds no licence of its own.

## Provenance (first shard)

| attribute | value |
|---|---|
{provenance}

## Classes

| label | WNID | name |
|---|---|---|
{classes}
"""

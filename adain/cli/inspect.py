"""``adain inspect`` and ``adain export``: look into shards, or turn them back into image files."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
from PIL import Image
from tqdm import tqdm

from ..data import find_shards, read_shard_info, shard_split
from ..files.atomic import atomic_path
from ..files.imagefiles import image_grid
from ..run.counts import FolderRecords, folder_records, run_counts
from ..shards.format import read_shard
from ..stages.assign_styles import sample_key
from ..stages.fingerprints import recorded_stylization

__all__ = ["inspect_shards", "export_shards", "export_webdataset", "methods_grid"]

_PROVENANCE = (
    "preset",
    "method",
    "seed",
    "alpha",
    "dtype",
    "codec",
    "vgg_sha256",
    "decoder_sha256",
    "package_version",
    "stylization_fingerprint",
    "validated",
    "random_standin_weights",
)


def inspect_shards(path: str | Path) -> dict:
    """Counts per split and class, rejects, and provenance of a shard or an output folder."""
    report: dict = {"shards": 0, "images": 0, "splits": {}, "classes": Counter(), "rejected": {}, "provenance": {}}
    for shard in find_shards(path):
        info = read_shard_info(shard)
        with h5py.File(shard, "r") as handle:
            split = shard_split(shard)
            report["shards"] += 1
            report["images"] += info.count
            report["splits"][split] = report["splits"].get(split, 0) + info.count
            report["classes"].update(w.decode() for w in handle["wnid"][()])
            rejected = handle["rejected_content"][()]
            ks = handle["rejected_k"][()] if "rejected_k" in handle else [0] * len(rejected)
            for content, k, reason in zip(rejected, ks, handle["rejected_reason"][()]):
                report["rejected"][sample_key(content.decode(), int(k))] = reason.decode()
            attrs = {**info.attrs, "stylization_fingerprint": recorded_stylization(info.attrs)}
            for key in _PROVENANCE:
                if attrs.get(key) not in (None, ""):
                    value = attrs[key]
                    value = value.item() if hasattr(value, "item") else value
                    report["provenance"].setdefault(key, set()).add(value)
    report["classes"] = dict(sorted(report["classes"].items()))
    report["provenance"] = {
        k: sorted(v, key=str) if len(v) > 1 else next(iter(v)) for k, v in report["provenance"].items()
    }
    method = report["provenance"].get("method")
    records = folder_records(path) if Path(path).is_dir() else FolderRecords()
    counts = run_counts(report["images"], len(report["rejected"]), records, method if isinstance(method, str) else None)
    report["counts"] = counts.as_dict()
    report["counts_phrase"] = counts.phrase()
    report["painting_reasons"] = dict(records.painting_reasons)
    return report


def format_report(report: dict) -> str:
    """A few lines for a person: the run's counts as every report says them, the stand-in
    warning, splits, provenance and the first rejects."""
    from ..stages.counts import RANDOM_STANDIN_WARNING, STANDIN_HINT

    unknown = report["counts"]["painting_rejects"] is None and report["provenance"].get("method", "adain") == "adain"
    painting = " (painting rejects: listed in a run's output folder only)" if unknown else ""
    lines = [f"{report['shards']} shard(s), {len(report['classes'])} classes: {report['counts_phrase']}{painting}"]
    if report["provenance"].get("random_standin_weights") not in (None, False, [False]):
        lines.insert(0, f"WARNING: {RANDOM_STANDIN_WARNING} ({STANDIN_HINT})")
    if isinstance(report["provenance"].get("stylization_fingerprint"), list):
        lines.insert(0, "WARNING: these shards were made in different ways (weights, settings or painting statistics)")
    lines += [f"  split {split}: {n} images" for split, n in sorted(report["splits"].items())]
    lines += [f"  provenance: {json.dumps(report['provenance'], default=str)}"]
    lines += [f"  content reject {content}: {reason}" for content, reason in list(report["rejected"].items())[:20]]
    lines += [f"  painting rejects: {n} {reason}" for reason, n in report.get("painting_reasons", {}).items()]
    return "\n".join(lines)


def methods_grid(
    image_path: str | Path, out_png: str | Path, recipe=None, params: dict | None = None, cell: int = 224
) -> list[str]:
    """One image under every texture-suppression method, side by side: original, then each filter
    of :mod:`adain.core.filters` (default parameters unless ``params[method]`` is given). Returns the
    column titles."""
    import torch

    from ..core.filters import DEFAULTS, get_filter
    from ..engine.images import Preprocess, open_rgb, to_uint8_tensor

    image = (recipe or Preprocess())(open_rgb(image_path))
    batch = to_uint8_tensor(image)[None].float() / 255
    columns = [("original", batch)]
    with torch.inference_mode():
        columns += [(m, get_filter(m, (params or {}).get(m))(batch)) for m in DEFAULTS]
    tiles = [Image.fromarray(t[0].mul(255).add(0.5).clamp(0, 255).byte().permute(1, 2, 0).numpy()) for _, t in columns]
    grid = image_grid([tiles], cell)  # the column titles are printed
    with atomic_path(out_png) as tmp:
        grid.save(tmp, format="PNG")
    return [name for name, _ in columns]


def _export_parts(split: str, wnid: str, content: str, k: int = 0) -> tuple[str, ...]:
    """Where an image goes below the export root: ``<split>/<wnid>/<its path below the class
    folder>`` (sub-folders kept, so names never collide; sample ``k`` > 0 of an image (several
    styles per image) as ``<name>_k<k>.<ext>``), each part from data made safe later."""
    parts = [p for p in content.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if parts and parts[0] == split:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == wnid:
        parts = parts[1:]
    parts = parts or ["image"]
    if k:
        name = Path(parts[-1])
        parts[-1] = f"{name.stem}_k{int(k)}{name.suffix}"
    return (split, wnid, *parts)


def export_webdataset(path: str | Path, dest: str | Path, image_format: str = "png", quality: int = 95) -> int:
    """Write one WebDataset tar per shard, ``<dest>/<shard name>.tar``: per sample ``<key>.png``
    (or ``.jpg``), ``<key>.cls`` (the label) and ``<key>.json`` (content path, painting, WNID, label,
    split, ``k``: the sample's number among its image's styles). Keys are ``<shard name>_<row>``. Tars are written atomically and reproducibly (sorted,
    no times, no owners); encoded shards of the same format are copied without re-encoding.

    Returns:
        The number of samples written.
    """
    import io
    import json
    import tarfile

    from ..files.safepath import safe_name

    extension = {"png": "png", "jpeg": "jpg"}[image_format]
    written = 0
    for shard in tqdm(find_shards(path), desc="export", unit="shard"):
        data = read_shard(shard)
        name = safe_name(shard.stem).replace(".", "_")
        split = shard_split(shard)
        ks = [k for _, k in data.samples()]
        with atomic_path(Path(dest) / f"{name}.tar") as tmp, tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
            for i in range(len(data)):
                if data.codec == image_format:
                    image = data.images[i].tobytes()
                else:
                    buffer = io.BytesIO()
                    Image.fromarray(data.pixels(i)).save(
                        buffer, format=image_format.upper(), **({"quality": quality} if image_format == "jpeg" else {})
                    )
                    image = buffer.getvalue()
                meta = {
                    "content": data.content[i],
                    "style": data.style[i],
                    "wnid": data.wnid[i],
                    "label": int(data.labels[i]),
                    "split": split,
                    "k": ks[i],
                }
                key = f"{name}_{i:06d}"
                for suffix, payload in (
                    (extension, image),
                    ("cls", str(int(data.labels[i])).encode()),
                    ("json", json.dumps(meta, sort_keys=True).encode()),
                ):
                    info = tarfile.TarInfo(f"{key}.{suffix}")
                    info.size, info.mtime, info.mode = len(payload), 0, 0o644
                    tar.addfile(info, io.BytesIO(payload))
                written += 1
    return written


def export_shards(
    path: str | Path, dest: str | Path, image_format: str = "png", quality: int = 95, workers: int = 4
) -> int:
    """Write every image as ``<dest>/<split>/<wnid>/<path below the class folder>.<png|jpeg>``
    (an ImageFolder tree).

    Every part of a target comes from data (shard attributes, content paths) and is confined to
    ``dest`` (:func:`adain.files.safepath.confined`): ``..``, absolute paths and separators never lead out,
    over-long names are shortened. Two images whose names differ only in their extension
    (``dup.JPEG``, ``dup.png``) keep it (``dup.JPEG.png``, ``dup.png.png``), so none overwrites another.

    Returns:
        The number of files written (one per image).
    """
    from ..files.safepath import confined

    if image_format not in ("png", "jpeg"):
        raise ValueError(f"--format must be png or jpeg, got {image_format!r}")
    dest = Path(dest)
    shards = find_shards(path)
    plans: list[list[tuple[str, ...]]] = []
    stems: Counter = Counter()
    for shard in shards:
        with h5py.File(shard, "r") as handle:
            split = str(handle.attrs["split"]) if "split" in handle.attrs else shard_split(shard)
            contents = handle["content"][()]
            ks = handle["k"][()] if "k" in handle else [0] * len(contents)
            parts = [
                _export_parts(split, w.decode("utf-8", "backslashreplace"), c.decode("utf-8", "backslashreplace"), k)
                for w, c, k in zip(handle["wnid"][()], contents, ks)
            ]
        plans.append(parts)
        stems.update((p[:-1], Path(p[-1]).stem) for p in parts)
    # where each image goes; names that still meet after sanitising get their position appended
    targets: list[list[Path]] = []
    taken: set[Path] = set()
    for number, parts in enumerate(plans):
        shard_targets = []
        for i, (*folders, name) in enumerate(parts):
            unique = stems[(tuple(folders), Path(name).stem)] == 1
            target = confined(dest, [*folders, f"{Path(name).stem if unique else name}.{image_format}"])
            if target in taken:
                target = target.with_name(f"{target.stem}~{number}-{i}{target.suffix}")
            taken.add(target)
            shard_targets.append(target)
        targets.append(shard_targets)
    total = sum(len(p) for p in plans)
    written = 0
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=total, unit="img", desc="export") as bar:
        for shard, shard_targets in zip(shards, targets):
            data = read_shard(shard)

            def save(i: int, data=data, shard_targets=shard_targets) -> None:  # this shard's, bound now
                target = shard_targets[i]
                options = {"quality": quality} if image_format == "jpeg" else {}
                with atomic_path(target) as tmp:
                    Image.fromarray(data.pixels(i)).save(tmp, format=image_format.upper(), **options)

            for _ in pool.map(save, range(len(data))):
                written += 1
                bar.update(1)
    return written

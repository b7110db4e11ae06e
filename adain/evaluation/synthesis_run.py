"""``adain synthesize`` and the rule ``synthesize_topk``: texture synthesis and feature
reconstruction through Top-K masks for files and folders of photos.

Each photo is squashed to ``size x size`` (PIL's Lanczos, as the authors), converted to the
network's input space (:meth:`adain.evaluation.gatys_vgg.GatysVGG.to_input`), and for every task
and mask :func:`adain.evaluation.synthesis.synthesize` optimises an image, which is converted back
to RGB and histogram-matched to the squashed photo (:func:`adain.evaluation.histogram.match_histograms`).

Outputs in ``out_dir``: ``<task>/<name>-<mask>.png`` per photo, task and mask (``name``: the
photo's file stem, made unique with ``-2``, ``-3``, ...), ``synthesis.json`` (settings, network,
weights, loss curves, times, skipped inputs) and ``synthesis.pdf`` / ``synthesis.png``
(original | all | Top-K | non-Top-K, a row per photo and task).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from .. import __version__
from ..engine.device import exact_numerics, resolve_device
from ..engine.images import ImageRejected, open_rgb
from ..files.atomic import atomic_path, atomic_write_text
from ..files.hashing import file_sha256
from ..files.imagefiles import list_images, save_image_file
from .gatys_vgg import GATYS_LAYERS, gatys_vgg
from .histogram import match_histograms
from .settings import IMAGE_EXTENSIONS, SynthesisSettings
from .synthesis import LAYER_WEIGHT, synthesize

__all__ = ["MASK_TITLES", "find_images", "run_synthesis", "plot_synthesis"]

log = logging.getLogger(__name__)

MASK_TITLES = {"all": "all responses", "topk": "Top-K", "nontopk": "non-Top-K"}
STANDIN_BANNER = "random stand-in weights: these pictures mean nothing"


def find_images(inputs: Sequence[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files and folders (searched recursively for :data:`IMAGE_EXTENSIONS`) -> the image files in
    the given order (each once), and ``(input, reason)`` for inputs that are neither."""
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            images = list_images(item, IMAGE_EXTENSIONS)
            found += images
            if not images:
                skipped.append((str(item), f"a folder without images ({', '.join(IMAGE_EXTENSIONS)})"))
        elif item.is_file():
            found.append(item)
        else:
            skipped.append((str(item), "not found"))
    return list(dict.fromkeys(found)), skipped


def _unique_names(paths: Sequence[Path]) -> list[str]:
    names: list[str] = []
    for path in paths:
        name, n = path.stem, 1
        while name in names:
            n += 1
            name = f"{path.stem}-{n}"
        names.append(name)
    return names


def run_synthesis(
    inputs: Sequence[str | Path],
    vgg_path: str | Path,
    out_dir: str | Path,
    settings: SynthesisSettings,
    progress: bool = True,
) -> dict:
    """Make every (photo, task, mask) picture, the JSON summary and the figure; return the summary.

    Unreadable inputs are skipped, logged and listed in the summary's ``skipped`` (path, reason).

    Raises:
        adain.core.model.WeightsError: ``vgg_path`` is missing or not the release VGG.
        ValueError: no readable image among ``inputs``.
    """
    out = Path(out_dir)
    paths, skipped = find_images(inputs)
    network = gatys_vgg(vgg_path)
    device = resolve_device(settings.device)
    network = network.to(device)
    layers = network.indices(GATYS_LAYERS)
    photos: list[tuple[Path, np.ndarray]] = []
    for path in paths:
        try:
            image = open_rgb(path).resize((settings.size, settings.size), Image.LANCZOS)
        except ImageRejected as error:
            skipped.append((str(path), str(error)))
            continue
        photos.append((path, np.asarray(image)))
    for path, reason in skipped:
        log.warning("skipped %s: %s", path, reason)
    if not photos:
        raise ValueError(f"no readable image among {', '.join(map(str, inputs))}")

    total = len(photos) * len(settings.masks) * sum(settings.steps_of(t) for t in settings.tasks)
    records = []
    # IEEE float32 and deterministic cuDNN on CUDA, as in the other commands
    with exact_numerics(device), tqdm(total=total, unit="step", desc="synthesize", disable=not progress) as bar:
        for (path, pixels), name in zip(photos, _unique_names([p for p, _ in photos])):
            rgb = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].to(device, torch.float32) / 255
            target = network.to_input(rgb)
            results: dict[str, dict] = {}
            for task in settings.tasks:
                results[task] = {}
                for mask in settings.masks:
                    bar.set_description(f"{name} {task} {mask}")
                    started, counted = time.perf_counter(), [0]

                    def step_done(step: int, loss: float, evaluations: int, counted=counted) -> None:
                        counted[0] = evaluations
                        bar.update(1)
                        bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

                    raw, losses = synthesize(
                        network.net,
                        layers,
                        target,
                        task,
                        mask,
                        settings.k,
                        settings.steps_of(task),
                        settings.max_iter,
                        settings.lr_of(task),
                        settings.seed,
                        progress=step_done,
                    )
                    seconds = time.perf_counter() - started
                    picture = network.to_rgb(raw)[0].permute(1, 2, 0).cpu().double().numpy()
                    png = Path(task) / f"{name}-{mask}.png"
                    save_image_file(match_histograms(picture, pixels), out / png)
                    results[task][mask] = {
                        "png": str(png),
                        "losses": losses,
                        "seconds": round(seconds, 3),
                        "evaluations": counted[0],
                    }
            records.append({"source": str(path), "name": name, "results": results})

    summary = {
        "settings": {
            **asdict(settings),
            "steps": {t: settings.steps_of(t) for t in settings.tasks},
            "lr": {t: settings.lr_of(t) for t in settings.tasks},
            "device": str(device),
            "dtype": "float32",
            "layers": list(GATYS_LAYERS),
            "layer_weight": LAYER_WEIGHT,
            "network": {
                "padding": network.padding,
                "pooling": network.pooling,
                "input": "Caffe space (BGR, 0-255, mean pixel subtracted) through the file's 1x1 convolution",
            },
            "resize": "squashed to size x size, PIL Lanczos",
            "histogram_matching": "per channel, to the resized photo (100 bins)",
        },
        "vgg": {"path": str(vgg_path), "sha256": file_sha256(vgg_path), "random_standin": network.random_standin},
        "versions": {"adain": __version__, "torch": torch.__version__},
        "images": records,
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "figures": ["synthesis.pdf", "synthesis.png"],
    }
    atomic_write_text(out / "synthesis.json", json.dumps(summary, indent=1) + "\n")
    plot_synthesis(summary, out, banner=STANDIN_BANNER if network.random_standin else None)
    return summary


def plot_synthesis(summary: dict, out_dir: str | Path, banner: str | None = None) -> list[Path]:
    """The paper-style figure of a :func:`run_synthesis` summary: per photo and task a row of
    original | one picture per mask, written as ``synthesis.pdf`` and ``synthesis.png`` in
    ``out_dir`` (which holds the pictures). Returns the two paths."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    out = Path(out_dir)
    settings = summary["settings"]
    rows = [(record, task) for record in summary["images"] for task in settings["tasks"]]
    columns = 1 + len(settings["masks"])
    figure = Figure(figsize=(2.0 * columns, 2.1 * len(rows) + (0.4 if banner else 0)), layout="constrained")
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for r, (record, task) in enumerate(rows):
        original = Image.open(record["source"]).convert("RGB").resize((settings["size"],) * 2, Image.LANCZOS)
        cells = [("original", original)] + [
            (MASK_TITLES[mask], Image.open(out / record["results"][task][mask]["png"])) for mask in settings["masks"]
        ]
        for c, (title, picture) in enumerate(cells):
            ax = axes[r][c]
            ax.imshow(np.asarray(picture))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title if title != "Top-K" else f"Top-K (k={settings['k']:g})", fontsize=9)
        axes[r][0].set_ylabel(f"{record['name']}\n{task}", fontsize=8)
    if banner:
        figure.suptitle(banner, color="red", fontsize=10)
    written = []
    for suffix in ("pdf", "png"):
        path = out / f"synthesis.{suffix}"
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=suffix, dpi=150)
        written.append(path)
    return written

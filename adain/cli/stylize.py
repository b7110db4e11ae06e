"""Stylize a folder tree: the library behind ``adain stylize`` (a drop-in for stylize-datasets).

Output tree and names follow stylize-datasets: ``<output>/<sub-folders>/<content stem>-stylized-
<painting stem><content suffix>``; unusable inputs are listed in ``<output>/skipped_imgs.txt``
(``path<TAB>reason`` per line, appended as they happen).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.model import load_adain
from ..engine.cache import StatsCache
from ..engine.image_dataset import ImageDataset
from ..engine.images import DEFAULT_MAX_PIXELS, Preprocess
from ..engine.painting_draws import assign_paintings
from ..engine.stylizer import Flushed, Rejected, Stylizer
from ..files.imagefiles import list_images, save_image_file

__all__ = ["stylize_folder", "FolderSettings", "FolderSummary", "STANDIN_NOTE"]

log = logging.getLogger(__name__)


@dataclass
class FolderSummary:
    """What a :func:`stylize_folder` run did."""

    contents: int = 0
    paintings: int = 0
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    random_standin: bool = False  # made with random stand-in weights (adain weights random)
    standin_note: Path | None = None  # the note saying so, in the output folder

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class FolderSettings:
    """How ``adain stylize`` stylizes a folder (its options, with stylize-datasets' defaults)."""

    num_styles: int = 1
    alpha: float = 1.0
    extensions: Sequence[str] = ("png", "jpeg", "jpg")
    content_size: int = 0
    style_size: int = 512
    crop: int = 0
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    batch_size: int = 16
    workers: int = 2
    cache_dir: str | Path | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    jpeg_quality: int = 75
    progress: bool = True
    preserve_color: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"--alpha must lie in [0, 1], got {self.alpha}")
        if self.num_styles < 1:
            raise ValueError(f"--num-styles must be >= 1, got {self.num_styles}")


def stylize_folder(
    content_dir: str | Path,
    style_dir: str | Path,
    output_dir: str | Path,
    vgg: str | Path,
    decoder: str | Path,
    settings: FolderSettings = FolderSettings(),
) -> FolderSummary:
    """Stylize every image under ``content_dir`` with ``settings.num_styles`` seeded random paintings.

    Paintings are drawn per image from a stream seeded by ``settings.seed`` and the image's relative
    path (see :mod:`adain.engine.painting_draws`); an unreadable painting is skipped and the next
    draw used. Painting statistics are computed once per painting (and cached under
    ``settings.cache_dir``), except with ``preserve_color`` (pytorch-AdaIN's option: each painting is
    given its content's colours first, :func:`adain.core.functional.match_color`), which encodes
    every (content, painting) pair.
    """
    content_dir, style_dir, output_dir = Path(content_dir), Path(style_dir), Path(output_dir)
    contents, styles = _list(content_dir, "content", settings), _list(style_dir, "style", settings)
    log.info("found %d content images in %s and %d paintings in %s", len(contents), content_dir, len(styles), style_dir)

    model = load_adain(vgg, decoder)
    stylizer = Stylizer(model, device=settings.device, dtype=settings.dtype, batch_size=settings.batch_size)
    painting_recipe = Preprocess("resize-crop", size=settings.style_size)
    cache = StatsCache(settings.cache_dir, model.weights.vgg_sha256, painting_recipe.key)
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = FolderSummary(contents=len(contents), paintings=len(styles))
    if model.weights.random_standin:
        summary.random_standin, summary.standin_note = True, _note_standin(output_dir, vgg, decoder)
    skip = _skipper(summary, output_dir / "skipped_imgs.txt")

    keys = [p.relative_to(content_dir).as_posix() for p in contents]
    assignment, stats = _assign_usable(stylizer, settings, keys, styles, painting_recipe, cache, skip)
    start = time.perf_counter()
    styles_per_item = [[styles[p] for p in chosen] for chosen in assignment] if settings.preserve_color else None
    dataset = ImageDataset(
        contents,
        Preprocess("resize-crop", settings.content_size, settings.crop),
        settings.max_pixels,
        styles=styles_per_item,
        style_preprocess=painting_recipe,
    )
    results = stylizer.stylize_dataset(dataset, assignment, stats, settings.alpha, settings.workers)
    summary.written = _write_results(results, contents, styles, content_dir, output_dir, settings, skip)
    summary.seconds = time.perf_counter() - start
    log.info(
        "wrote %d images in %.1f s (%.1f images/s); %d skipped; painting cache: %d hits, %d misses",
        summary.written,
        summary.seconds,
        summary.images_per_second,
        len(summary.skipped),
        cache.hits,
        cache.misses,
    )
    return summary


#: The note ``adain stylize`` leaves in an output folder made with random stand-in weights.
STANDIN_NOTE = "WARNING-random-stand-in-weights.txt"


def _note_standin(output_dir: Path, vgg, decoder) -> Path:
    """Say in ``output_dir`` (and the log) that its images come from random stand-in weights."""
    from ..files.atomic import atomic_write_text
    from ..stages.counts import RANDOM_STANDIN_WARNING, STANDIN_HINT

    log.warning("%s: %s and %s (%s)", RANDOM_STANDIN_WARNING, vgg, decoder, STANDIN_HINT)
    note = output_dir / STANDIN_NOTE
    atomic_write_text(
        note,
        f"WARNING: {RANDOM_STANDIN_WARNING}.\n\nThe images in this folder were stylized with random stand-in "
        f"weights ({vgg}, {decoder}; {STANDIN_HINT}).\nThey show that the tool runs; they are not style transfer.\n",
    )
    return note


def _list(folder: Path, role: str, settings: FolderSettings) -> list[Path]:
    images = list_images(folder, settings.extensions)
    if not images:
        raise FileNotFoundError(f"no images with extensions {list(settings.extensions)} in {role} folder {folder}")
    return images


def _skipper(summary: FolderSummary, skipped_file: Path):
    """``skip(path, reason)``: record an unusable input in the summary, the log and ``skipped_file``."""

    def skip(path: Path, reason: str) -> None:
        summary.skipped.append((str(path), reason))
        log.warning("skipping %s: %s", path, reason)
        with open(skipped_file, "a", encoding="utf-8") as handle:
            handle.write(f"{path}\t{reason}\n")

    return skip


def _assign_usable(stylizer, settings, keys, styles, painting_recipe, cache, skip) -> tuple[list, dict]:
    """Each content's paintings and every chosen painting's statistics; paintings that prove
    unreadable are skipped and replaced by the next draw."""
    stats: dict[int, np.ndarray] = {}
    unusable: set[int] = set()
    while True:
        assignment = assign_paintings(settings.seed, keys, len(styles), settings.num_styles, unusable)
        needed = sorted({p for ps in assignment for p in ps} - stats.keys())
        if not needed:
            return assignment, stats
        with tqdm(total=len(needed), desc="painting statistics", unit="img", disable=not settings.progress) as bar:
            new, bad = stylizer.painting_stats(
                [styles[i] for i in needed], painting_recipe, cache, settings.workers, settings.max_pixels, bar.update
            )
        stats.update({needed[j]: value for j, value in new.items()})
        for j, reason in bad.items():
            unusable.add(needed[j])
            skip(styles[needed[j]], f"painting {reason}")


def _write_results(results, contents, styles, content_dir, output_dir, settings: FolderSettings, skip) -> int:
    """Save the stylized images under stylize-datasets' names, off this thread; returns how many."""
    written = 0
    with (
        ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool,
        tqdm(
            total=len(contents) * settings.num_styles, desc="stylize", unit="img", disable=not settings.progress
        ) as bar,
    ):
        pending: deque = deque()  # bounded: finished writes are collected as we go
        for result in results:
            if isinstance(result, Flushed):
                continue
            if isinstance(result, Rejected):
                skip(contents[result.index], result.reason)
                bar.update(settings.num_styles)
                continue
            source, painting = contents[result.index], styles[result.painting]
            target = (
                output_dir
                / source.relative_to(content_dir).parent
                / (f"{source.stem}-stylized-{painting.stem}{source.suffix}")
            )
            pending.append(pool.submit(save_image_file, result.image, target, settings.jpeg_quality))
            bar.update(1)
            while len(pending) > 4 * settings.batch_size or (pending and pending[0].done()):
                pending.popleft().result()
                written += 1
        while pending:
            pending.popleft().result()
            written += 1
    return written

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

__all__ = ["stylize_folder", "FolderSummary"]

log = logging.getLogger(__name__)


@dataclass
class FolderSummary:
    """What a :func:`stylize_folder` run did."""

    contents: int = 0
    paintings: int = 0
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0


def stylize_folder(
    content_dir: str | Path,
    style_dir: str | Path,
    output_dir: str | Path,
    vgg: str | Path,
    decoder: str | Path,
    num_styles: int = 1,
    alpha: float = 1.0,
    extensions: Sequence[str] = ("png", "jpeg", "jpg"),
    content_size: int = 0,
    style_size: int = 512,
    crop: int = 0,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float32",
    batch_size: int = 16,
    workers: int = 2,
    cache_dir: str | Path | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    jpeg_quality: int = 75,
    progress: bool = True,
    preserve_color: bool = False,
) -> FolderSummary:
    """Stylize every image under ``content_dir`` with ``num_styles`` seeded random paintings.

    Paintings are drawn per image from a stream seeded by ``seed`` and the image's relative path
    (see :mod:`adain.engine.painting_draws`); an unreadable painting is skipped and the next draw used.
    Painting statistics are computed once per painting (and cached under ``cache_dir``), except
    with ``preserve_color`` (pytorch-AdaIN's option: each painting is given its content's colours
    first, :func:`adain.core.functional.match_color`), which encodes every (content, painting) pair.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"--alpha must lie in [0, 1], got {alpha}")
    if num_styles < 1:
        raise ValueError(f"--num-styles must be >= 1, got {num_styles}")
    content_dir, style_dir, output_dir = Path(content_dir), Path(style_dir), Path(output_dir)
    contents = list_images(content_dir, extensions)
    if not contents:
        raise FileNotFoundError(f"no images with extensions {list(extensions)} in content folder {content_dir}")
    styles = list_images(style_dir, extensions)
    if not styles:
        raise FileNotFoundError(f"no images with extensions {list(extensions)} in style folder {style_dir}")
    log.info("found %d content images in %s and %d paintings in %s", len(contents), content_dir, len(styles), style_dir)

    model = load_adain(vgg, decoder)
    stylizer = Stylizer(model, device=device, dtype=dtype, batch_size=batch_size)
    painting_recipe = Preprocess("resize-crop", size=style_size)
    cache = StatsCache(cache_dir, model.weights.vgg_sha256, painting_recipe.key)
    output_dir.mkdir(parents=True, exist_ok=True)
    skipped_file = output_dir / "skipped_imgs.txt"
    summary = FolderSummary(contents=len(contents), paintings=len(styles))

    def skip(path: Path, reason: str) -> None:
        summary.skipped.append((str(path), reason))
        log.warning("skipping %s: %s", path, reason)
        with open(skipped_file, "a", encoding="utf-8") as handle:
            handle.write(f"{path}\t{reason}\n")

    keys = [p.relative_to(content_dir).as_posix() for p in contents]
    stats: dict[int, np.ndarray] = {}
    unusable: set[int] = set()
    while True:  # assign; paintings that prove unreadable are replaced by the next draw
        assignment = assign_paintings(seed, keys, len(styles), num_styles, unusable)
        needed = sorted({p for ps in assignment for p in ps} - stats.keys())
        if not needed:
            break
        with tqdm(total=len(needed), desc="painting statistics", unit="img", disable=not progress) as bar:
            new, bad = stylizer.painting_stats(
                [styles[i] for i in needed], painting_recipe, cache, workers, max_pixels, bar.update
            )
        stats.update({needed[j]: value for j, value in new.items()})
        for j, reason in bad.items():
            unusable.add(needed[j])
            skip(styles[needed[j]], f"painting {reason}")

    start = time.perf_counter()
    styles_per_item = [[styles[p] for p in chosen] for chosen in assignment] if preserve_color else None
    dataset = ImageDataset(
        contents,
        Preprocess("resize-crop", content_size, crop),
        max_pixels,
        styles=styles_per_item,
        style_preprocess=painting_recipe,
    )
    with (
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
        tqdm(total=len(contents) * num_styles, desc="stylize", unit="img", disable=not progress) as bar,
    ):
        pending: deque = deque()  # bounded: finished writes are collected as we go
        for result in stylizer.stylize_dataset(dataset, assignment, stats, alpha, workers):
            if isinstance(result, Flushed):
                continue
            if isinstance(result, Rejected):
                skip(contents[result.index], result.reason)
                bar.update(num_styles)
                continue
            source, painting = contents[result.index], styles[result.painting]
            target = (
                output_dir
                / source.relative_to(content_dir).parent
                / (f"{source.stem}-stylized-{painting.stem}{source.suffix}")
            )
            pending.append(pool.submit(save_image_file, result.image, target, jpeg_quality))
            bar.update(1)
            while len(pending) > 4 * batch_size or (pending and pending[0].done()):
                pending.popleft().result()
                summary.written += 1
        while pending:
            pending.popleft().result()
            summary.written += 1
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

"""Image files on disk: listing a folder's images, saving one, and the one grid of images every
picture of the package is drawn with (sample grids, the methods grid); used by every stage that
reads or writes plain image files (the index, the paintings, ``adain stylize``, cue-conflict
stimuli, summaries)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from .atomic import atomic_path

__all__ = ["list_images", "save_image_file", "image_grid"]


def list_images(root: str | Path, extensions: Iterable[str]) -> list[Path]:
    """Files under ``root`` (recursively) whose suffix is one of ``extensions``, case-insensitively
    (``JPEG`` matches ImageNet's ``.JPEG``), sorted by path. Hidden files and folders (a name
    starting with ``.``) are skipped; symlinked folders are not followed (no loops)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"folder not found: {root}")
    wanted = {"." + ext.lower().lstrip(".") for ext in extensions}
    if not wanted:
        raise ValueError("no file extensions given")
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in wanted
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.is_file()
    )


def save_image_file(pixels: np.ndarray, target: Path, jpeg_quality: int = 75) -> None:
    """Save ``uint8 (H, W, 3)`` to ``target`` atomically; the format follows the suffix
    (JPEG at PIL's default quality 75 unless told, as ``torchvision.utils.save_image``)."""
    image_format = Image.registered_extensions().get(target.suffix.lower())
    if image_format is None:
        raise ValueError(f"cannot tell an image format from the suffix of {target}")
    options = {"quality": jpeg_quality} if image_format == "JPEG" else {}
    with atomic_path(target) as tmp:
        Image.fromarray(pixels).save(tmp, format=image_format, **options)


def image_grid(
    rows: Sequence[Sequence[Image.Image | None]],
    cell: int,
    captions: Sequence[Sequence[str]] | None = None,
    banner: str | None = None,
) -> Image.Image:
    """Images in a grid of ``cell`` x ``cell`` cells (each fitted and centred, small ones enlarged
    pixel for pixel; ``None``
    leaves its cell blank), a one-line caption under each cell when ``captions`` are given (the
    same shape as ``rows``), and ``banner`` in red across the top. Text is drawn in PIL's own font
    (ASCII; longer captions are cut to the cell)."""
    columns = max((len(row) for row in rows), default=1)
    caption = 12 if captions else 0
    top = 14 if banner else 0
    grid = Image.new("RGB", (columns * cell, top + max(1, len(rows)) * (cell + caption)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for r, row in enumerate(rows):
        y = top + r * (cell + caption)
        for c, image in enumerate(row):
            if image is not None:  # fitted to the cell: a 64x64 result is drawn as large as its content
                small = max(image.size) < cell
                image = ImageOps.contain(image, (cell, cell), Image.NEAREST if small else Image.BILINEAR)
                grid.paste(image, (c * cell + (cell - image.width) // 2, y + (cell - image.height) // 2))
            if captions:
                draw.text((c * cell + 2, y + cell), _ascii(captions[r][c])[: max(1, cell // 6)], fill=(0, 0, 0))
    if banner:
        draw.rectangle((0, 0, grid.width, top), fill=(200, 0, 0))
        draw.text((3, 1), _ascii(banner), fill=(255, 255, 255))
    return grid


def _ascii(text: str) -> str:
    return text.replace("\u2014", "-").encode("ascii", "replace").decode()

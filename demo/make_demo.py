"""Regenerate the demo tree (checked in) from photos shipped with scikit-image.

    python demo/make_demo.py

demo/imagenet/{train,val}/<wnid>/*.JPEG: 3 classes, 4 train + 2 val images each, mixed sizes.
demo/paintings/*.jpg: 5 painting stand-ins (textures, tinted) and one too small to be used.
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from skimage import data

ROOT = Path(__file__).resolve().parent
CLASSES = {  # wnid: skimage photo
    "n02123045": "chelsea",  # tabby cat
    "n04266014": "rocket",  # space shuttle
    "n07920052": "coffee",  # espresso
}
SIZES = [(160, 120), (120, 160), (200, 150), (150, 113), (177, 133), (133, 177)]


def views(image: Image.Image, count: int):
    """Different crops, flips and sizes of one photo."""
    width, height = image.size
    for i in range(count):
        left, top = (i * width) // 12, (i * height) // 16
        crop = image.crop((left, top, width - (count - i) * width // 16, height - ((count - i) * height) // 24))
        if i % 2:
            crop = ImageOps.mirror(crop)
        yield crop.resize(SIZES[i % len(SIZES)], Image.BICUBIC)


def main() -> None:
    for wnid, name in CLASSES.items():
        photo = Image.fromarray(getattr(data, name)()).convert("RGB")
        images = list(views(photo, 6))
        for split, chunk in (("train", images[:4]), ("val", images[4:])):
            folder = ROOT / "imagenet" / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(chunk):
                image.save(folder / f"{wnid}_{split}_{i}.JPEG", quality=85)
    paintings = ROOT / "paintings"
    paintings.mkdir(exist_ok=True)
    tints = [(1.0, 0.6, 0.3), (0.3, 0.7, 1.0), (0.9, 0.9, 0.2), (0.8, 0.3, 0.8), (0.4, 1.0, 0.5)]
    for i, (texture, size) in enumerate(zip(["brick", "grass", "gravel", "hubble_deep_field", "immunohistochemistry"],
                                             [(300, 260), (260, 320), (280, 280), (320, 240), (256, 256)])):
        pixels = getattr(data, texture)()
        if pixels.ndim == 2:
            pixels = (np.stack([pixels] * 3, axis=-1) * np.array(tints[i])).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).resize(size, Image.LANCZOS).save(paintings / f"{i + 1:05d}.jpg", quality=90)
    Image.fromarray(data.astronaut()).resize((180, 140)).save(paintings / "99999_too_small.jpg", quality=90)


if __name__ == "__main__":
    main()

"""Shared fixtures: release-format random weights and small real photos at awkward sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain.core.weights import write_random_weights


@pytest.fixture(scope="session")
def weights(tmp_path_factory) -> tuple[Path, Path]:
    """Random weights in the exact release format (tests/core/test_model.py checks them against an
    independent restatement of the release networks)."""
    return write_random_weights(tmp_path_factory.mktemp("weights"))


def photo(name: str, box: tuple[int, int, int, int] | None = None, size: tuple[int, int] | None = None) -> Image.Image:
    """A ``skimage.data`` photo, optionally cropped (left, top, right, bottom) and resized (w, h)."""
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    if box:
        image = image.crop(box)
    if size:
        image = image.resize(size, Image.BILINEAR)
    return image


def write_content_tree(root: Path) -> list[Path]:
    """Content images in two class folders, at sizes that are not multiples of 8, tall, wide, grey."""
    files = {
        "n01/astronaut.JPEG": photo("astronaut", size=(53, 37)),
        "n01/coffee.png": photo("coffee", size=(41, 90)),
        "n01/coffee_twin.png": photo("coffee", box=(100, 0, 500, 400), size=(41, 90)),
        "n02/camera.jpg": photo("camera", size=(97, 30)),
        "n02/chelsea.jpeg": photo("chelsea", size=(53, 37)),
        "n02/rocket.JPEG": photo("rocket", size=(64, 64)),
    }
    for name, image in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG" if path.suffix == ".png" else "JPEG", quality=95)
    return sorted(root / name for name in files)


def write_paintings(root: Path) -> list[Path]:
    """Painting stand-ins: textured crops of real photos at mixed sizes."""
    root.mkdir(parents=True, exist_ok=True)
    paintings = {
        "p1_hubble.jpg": photo("hubble_deep_field", size=(90, 70)),
        "p2_coins.png": photo("coins", size=(60, 80)),
        "p3_immuno.jpg": photo("immunohistochemistry", size=(72, 72)),
    }
    for name, image in paintings.items():
        image.save(root / name)
    return sorted(root / name for name in paintings)


@pytest.fixture()
def content_dir(tmp_path) -> Path:
    write_content_tree(tmp_path / "content")
    return tmp_path / "content"


@pytest.fixture()
def style_dir(tmp_path) -> Path:
    write_paintings(tmp_path / "styles")
    return tmp_path / "styles"


def as_array(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def write_odd_inputs(
    folder: Path, base_size: tuple[int, int] = (48, 40), huge: tuple[int, int] = (300, 300)
) -> dict[str, str | None]:
    """The kinds of files real ImageNet and Painter-by-Numbers hold. Returns file name -> ``None``
    for good-but-odd files that must be converted and used at full size, or a substring of the
    rejection reason for broken ones (``huge`` must exceed the pixel guard used)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = photo("chelsea", size=base_size)
    expected: dict[str, str | None] = {}

    def save(name, image, reason=None, **options):
        image.save(folder / name, **options)
        expected[name] = reason

    save("cmyk.JPEG", base.convert("CMYK"), format="JPEG")
    save("gray.JPEG", base.convert("L"), format="JPEG")
    save("png_named.JPEG", base, format="PNG")
    save("rgba.png", base.convert("RGBA"), format="PNG")
    save("palette.png", base.convert("P", palette=Image.ADAPTIVE), format="PNG")
    save("gray16.png", Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257), format="PNG")
    save("one_pixel.png", Image.new("RGB", (1, 1), (200, 10, 10)), "too small", format="PNG")
    save("sliver.JPEG", photo("astronaut", size=(3000, 7)), "too small", format="JPEG")
    save("huge.png", Image.new("RGB", huge, (0, 0, 0)), "too large", format="PNG")
    good = folder / "truncated.JPEG"
    base.save(good, format="JPEG")
    good.write_bytes(good.read_bytes()[:400])
    expected["truncated.JPEG"] = "undecodable"
    (folder / "empty.JPEG").write_bytes(b"")
    expected["empty.JPEG"] = "empty file"
    (folder / "page.JPEG").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>")
    expected["page.JPEG"] = "undecodable"
    return expected


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 server (moto) on 127.0.0.1 for this test process."""
    from tests.s3_server import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch) -> str:
    """The S3 plugin's settings (and boto3's) in the environment, pointing at the test server;
    what this process and the workflows it starts use. Returns the endpoint."""
    for name, value in {
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return s3_endpoint

import numpy as np
import pytest
import torch
from PIL import Image

from adain.engine.image_dataset import ImageDataset
from adain.engine.images import ImageRejected, Preprocess, open_rgb, square_thumbnail
from tests.conftest import photo, write_odd_inputs


def test_every_odd_input_is_converted_or_rejected_with_a_reason(tmp_path):
    expected = write_odd_inputs(tmp_path)  # huge.png: 300x300 > the guard of 200x200 below
    names = sorted(expected)
    dataset = ImageDataset([tmp_path / n for n in names], Preprocess(), max_pixels=200 * 200)
    for index, name in enumerate(names):
        _, image, reason = dataset[index]
        if expected[name] is None:
            assert reason is None, f"{name}: {reason}"
            assert image.shape[0] == 3 and tuple(image.shape[1:]) == (40, 48), name
        else:
            assert image is None and expected[name] in reason, f"{name}: {reason}"


def test_odd_modes_become_plausible_rgb(tmp_path):
    write_odd_inputs(tmp_path)
    reference = np.asarray(Image.open(tmp_path / "gray.JPEG").convert("RGB"), dtype=float)
    gray16 = np.asarray(open_rgb(tmp_path / "gray16.png"), dtype=float)
    assert (
        np.abs(gray16 - np.asarray(photo("chelsea", size=(48, 40)).convert("RGB").convert("L").convert("RGB"))).max()
        <= 1
    )
    assert reference.std() > 10 and gray16.std() > 10
    assert open_rgb(tmp_path / "rgba.png").mode == "RGB"


def test_resize_crop_matches_torchvision_transforms(tmp_path):
    import torchvision.transforms as T

    image = photo("coffee")
    ours = np.asarray(Preprocess("resize-crop", 256, 224)(image))
    theirs = np.asarray(T.Compose([T.Resize(256), T.CenterCrop(224)])(image))
    np.testing.assert_array_equal(ours, theirs)


def test_square_thumbnail_is_the_official_painting_recipe():
    image = photo("coffee")  # 600 x 400
    thumb = square_thumbnail(image, 224)
    expected = image.crop((100, 0, 500, 400))
    expected.thumbnail((224, 224), Image.LANCZOS)
    assert thumb.size == (224, 224)
    np.testing.assert_array_equal(np.asarray(thumb), np.asarray(expected))
    small = square_thumbnail(photo("coffee", size=(150, 100)), 224)
    assert small.size == (100, 100)  # thumbnail never enlarges


def test_pixel_guard_applies_before_decoding(tmp_path):
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    with pytest.raises(ImageRejected, match="too large: 100x100 = 10000 pixels > max_pixels=9999"):
        open_rgb(tmp_path / "big.png", max_pixels=9999)
    assert open_rgb(tmp_path / "big.png", max_pixels=10000).size == (100, 100)


def test_unknown_recipe_raises():
    with pytest.raises(ValueError, match="unknown recipe"):
        Preprocess("bicubic")


def test_a_tiny_file_that_would_become_huge_is_rejected_before_it_is_made(tmp_path):
    """A 20000x2 PNG is a few hundred bytes; Resize(256) would make it 256 x 2,560,000."""
    import resource

    from adain.engine.presets import get_preset

    Image.new("RGB", (20000, 2), (9, 9, 9)).save(tmp_path / "sliver.png")
    assert (tmp_path / "sliver.png").stat().st_size < 2000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, image, reason = ImageDataset([tmp_path / "sliver.png"], get_preset("sin").content)[0]
    assert image is None and "too large after preprocessing: 20000x2 (aspect ratio 10000:1)" in reason
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing large was made
    Image.new("RGB", (700, 7), (9, 9, 9)).save(tmp_path / "narrow.png")  # 25,600 x 256 once resized
    _, image, reason = ImageDataset([tmp_path / "narrow.png"], get_preset("sin").content)[0]
    assert reason is None and tuple(image.shape) == (3, 224, 224)
    _, image, reason = ImageDataset(
        [tmp_path / "narrow.png"], get_preset("sin").content, max_preprocessed_pixels=10**6
    )[0]
    assert image is None and "max_preprocessed_pixels=1000000" in reason  # the guard is configurable


def test_preflight_says_is_a_file_is_a_folder_or_does_not_exist(tmp_path):
    import yaml

    from adain.run.preflight import PreflightError, check_run
    from tests.workflow_utils import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    (tmp_path / "a_file").write_text("x")
    config.update(
        content_dir=str(tmp_path / "a_file"),
        style_dir=str(tmp_path / "missing"),
        vgg_weights=str(tmp_path),
        output_dir=str(tmp_path / "out"),
    )
    with pytest.raises(PreflightError) as error:
        check_run(config)
    message = str(error.value)
    assert f"content_dir {tmp_path / 'a_file'} is a file, not a folder" in message
    assert f"style_dir {tmp_path / 'missing'} does not exist" in message
    assert f"vgg_weights: {tmp_path} is a folder, not a weights file" in message


def test_the_pil_recipe_equals_torchvisions_resize_and_center_crop_without_importing_it():
    """resize_shorter / center_crop / to_uint8_tensor restate torchvision's PIL functions (the
    PIL path then needs no torchvision import, ~1.5 s per process); padding included."""
    import torchvision.transforms.functional as TF

    from adain.engine.images import center_crop, resize_shorter, to_uint8_tensor
    from tests.conftest import photo

    source = photo("astronaut")
    for width, height in [(5, 9), (37, 100), (223, 224), (333, 500), (500, 375), (1000, 37)]:
        image = source.resize((width, height))
        assert torch.equal(to_uint8_tensor(image), TF.pil_to_tensor(image))
        for size in (9, 64, 224, 256):
            expected = TF.resize(image, size, interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
            assert np.array_equal(np.asarray(resize_shorter(image, size)), np.asarray(expected)), (width, height, size)
            expected = TF.center_crop(image, [size, size])
            assert np.array_equal(np.asarray(center_crop(image, size)), np.asarray(expected)), (width, height, size)

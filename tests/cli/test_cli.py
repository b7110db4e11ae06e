import subprocess
import sys

import numpy as np

from adain.cli.main import main
from adain.cli.stylize import STANDIN_NOTE
from tests.conftest import as_array
from tests.reference_adain import ReferenceStylizer


def _stylize(weights, content_dir, style_dir, out, *extra):
    vgg, decoder = weights
    argv = [
        "stylize",
        "--content-dir",
        str(content_dir),
        "--style-dir",
        str(style_dir),
        "--output-dir",
        str(out),
        "--vgg",
        str(vgg),
        "--decoder",
        str(decoder),
        "--device",
        "cpu",
        "--style-size",
        "64",
        "--cache-dir",
        "none",
        "--no-progress",
        *extra,
    ]
    assert main(argv) == 0
    assert (out / STANDIN_NOTE).is_file()  # the test weights are random stand-ins: the folder says so
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != STANDIN_NOTE)


def test_output_tree_names_and_reference_pixels(weights, content_dir, style_dir, tmp_path):
    (content_dir / "n02" / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (content_dir / "n02" / "notes.txt").write_text("not an image")
    files = _stylize(weights, content_dir, style_dir, tmp_path / "out", "--num-styles", "2", "--workers", "2")
    images = [f for f in files if f != "skipped_imgs.txt"]
    contents = sorted(p for p in content_dir.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    assert len(images) == 2 * (len(contents) - 1)  # the broken one is skipped
    styles = {p.stem: p for p in style_dir.iterdir()}
    reference = ReferenceStylizer(*weights)
    for content in contents:
        if content.name == "broken.JPEG":
            continue
        rel = content.relative_to(content_dir)
        mine = [f for f in images if f.startswith(f"{rel.parent.as_posix()}/{content.stem}-stylized-")]
        painting_stems = {f.split("-stylized-")[1].rsplit(".", 1)[0] for f in mine}
        assert len(mine) == 2 and len(painting_stems) == 2, mine  # two distinct paintings
        assert all(f.endswith(content.suffix) for f in mine)  # suffix kept, case included
        if content.suffix == ".png":  # lossless: compare pixels with the per-image reference
            for f in mine:
                expected = reference(content, styles[f.split("-stylized-")[1][:-4]], style_size=64)
                got = as_array(tmp_path / "out" / f)
                diff = np.abs(got.astype(float) - expected[: got.shape[0], : got.shape[1]]).mean()
                assert diff <= 0.5
    skipped = (tmp_path / "out" / "skipped_imgs.txt").read_text().splitlines()
    assert len(skipped) == 1 and skipped[0].startswith(str(content_dir / "n02" / "broken.JPEG") + "\t")
    assert "undecodable" in skipped[0]


def test_seeded_runs_repeat_byte_for_byte(weights, content_dir, style_dir, tmp_path):
    first = _stylize(weights, content_dir, style_dir, tmp_path / "a", "--workers", "0", "--seed", "3")
    again = _stylize(
        weights, content_dir, style_dir, tmp_path / "b", "--workers", "2", "--seed", "3", "--batch-size", "1"
    )
    assert first == again
    for name in first:
        a, b = as_array(tmp_path / "a" / name), as_array(tmp_path / "b" / name)
        # batch size 1 vs 16: rare one-level rounding flips (JPEG re-encoding may spread them)
        assert np.abs(a.astype(int) - b).mean() < 0.05
    _stylize(weights, content_dir, style_dir, tmp_path / "c", "--workers", "0", "--seed", "3")
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "c" / n).read_bytes() for n in first)
    other = _stylize(weights, content_dir, style_dir, tmp_path / "d", "--seed", "4")
    assert other != first  # another seed draws other paintings


def test_content_resize_and_crop_flags(weights, content_dir, style_dir, tmp_path):
    files = _stylize(
        weights,
        content_dir,
        style_dir,
        tmp_path / "out",
        "--content-size",
        "40",
        "--crop",
        "32",
        "--extensions",
        "JPEG",
        "jpg",
    )
    assert len(files) == 4 and not any(f.endswith(".png") for f in files)  # .JPEG, .jpeg, .jpg match
    assert {as_array(tmp_path / "out" / f).shape for f in files} == {(32, 32, 3)}


def test_unreadable_painting_is_replaced_and_listed(weights, content_dir, style_dir, tmp_path):
    (style_dir / "p0_broken.jpg").write_bytes(b"")
    files = _stylize(weights, content_dir, style_dir, tmp_path / "out", "--num-styles", "3")
    assert not any("p0_broken" in f for f in files)
    assert sum(f != "skipped_imgs.txt" for f in files) == 3 * 6
    assert "p0_broken.jpg\tpainting undecodable: empty file" in (tmp_path / "out" / "skipped_imgs.txt").read_text()


def test_clear_errors(weights, content_dir, style_dir, tmp_path, capsys):
    vgg, decoder = weights
    base = ["stylize", "--content-dir", str(content_dir), "--style-dir", str(style_dir), "--output-dir", str(tmp_path)]
    assert main([*base, "--vgg", str(decoder), "--decoder", str(vgg), "--no-progress"]) == 2
    assert "swapped files" in capsys.readouterr().err
    assert main([*base, "--vgg", str(tmp_path / "nope.pth"), "--decoder", str(decoder)]) == 2
    assert "nope.pth: file not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(
            [
                "stylize",
                "--content-dir",
                str(empty),
                "--style-dir",
                str(style_dir),
                "--vgg",
                str(vgg),
                "--decoder",
                str(decoder),
            ]
        )
        == 2
    )
    assert "no images" in capsys.readouterr().err


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "adain", "stylize", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for flag in [
        "--content-dir",
        "--style-dir",
        "--output-dir",
        "--num-styles",
        "--alpha",
        "--extensions",
        "--content-size",
        "--style-size",
        "--crop",
        "--vgg",
        "--decoder",
        "--seed",
        "--device",
        "--batch-size",
        "--workers",
    ]:
        assert flag in result.stdout


def test_weights_command(tmp_path, capsys):
    from adain.core.model import load_adain

    assert main(["weights", "random", str(tmp_path)]) == 0
    model = load_adain(tmp_path / "vgg_normalised.pth", tmp_path / "decoder.pth")
    assert model.weights.vgg_sha256
    assert main(["weights", "download", str(tmp_path)]) == 0  # both exist: kept, nothing fetched
    assert capsys.readouterr().out.count("exists, kept") == 2


def test_preserve_color_equals_the_reference(weights, content_dir, style_dir, tmp_path):
    """--preserve-color: pytorch-AdaIN's colour preservation, per image as the reference does it
    (the painting given the content's colours, then encoded); other colours than without it."""
    files = _stylize(weights, content_dir, style_dir, tmp_path / "out", "--preserve-color", "--workers", "2")
    plain = _stylize(weights, content_dir, style_dir, tmp_path / "plain")
    assert files == plain
    styles = {p.stem: p for p in style_dir.iterdir()}
    reference = ReferenceStylizer(*weights)
    compared = 0
    for name in files:
        if not name.endswith(".png") or name == "skipped_imgs.txt":
            continue
        stem, painting = name.rsplit("/", 1)[-1][:-4].split("-stylized-")
        content = next(content_dir.rglob(f"{stem}.png"))
        expected = reference(content, styles[painting], style_size=64, preserve_color=True)
        got = as_array(tmp_path / "out" / name)
        assert np.abs(got.astype(float) - expected[: got.shape[0], : got.shape[1]]).mean() <= 0.5
        assert np.abs(got.astype(float) - as_array(tmp_path / "plain" / name)).mean() > 1.0
        compared += 1
    assert compared >= 2


def test_stylize_says_stand_in_weights_on_the_console_and_in_its_output_folder(
    weights, content_dir, style_dir, tmp_path, capsys, monkeypatch
):
    """Without --vgg/--decoder the weights come from weights/ of the folder it runs in, and
    stand-in weights are said where the images are."""
    import shutil

    from adain.stages.counts import RANDOM_STANDIN_WARNING

    (tmp_path / "weights").mkdir()
    for path in weights:
        shutil.copy(path, tmp_path / "weights" / path.name)
    monkeypatch.chdir(tmp_path)
    argv = ["stylize", "--content-dir", str(content_dir), "--style-dir", str(style_dir), "--output-dir", "out"]
    assert main([*argv, "--device", "cpu", "--style-size", "64", "--cache-dir", "none", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"WARNING: {RANDOM_STANDIN_WARNING}" in printed and "weights/vgg_normalised.pth" in printed
    assert RANDOM_STANDIN_WARNING in (tmp_path / "out" / STANDIN_NOTE).read_text()


def test_stylize_looks_for_weights_where_the_workflow_does_and_says_where_it_looked(weights, tmp_path):
    import shutil

    from adain.cli.find_weights import WeightsNotFound, checkout_root, find_weights
    from adain.core.release import RELEASE_URL
    from tests.workflow_utils import REPO

    assert checkout_root() == REPO  # this package runs from the checkout
    checkout, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    for folder in (checkout, elsewhere):
        folder.mkdir()
    (checkout / "Snakefile").write_text("")
    (checkout / "config.yaml").write_text("vgg_weights: w/vgg.pth\n")  # decoder_weights: the default
    try:
        find_weights("vgg", cwd=elsewhere, checkout=checkout)
        raise AssertionError("found weights that are not there")
    except WeightsNotFound as error:
        message = str(error)
    for said in (
        str(elsewhere / "weights" / "vgg_normalised.pth"),
        str(checkout / "w" / "vgg.pth"),
        f"{RELEASE_URL}/vgg_normalised.pth",
        "adain weights download",
        "adain weights random",
        "--vgg",
    ):
        assert said in message, said
    (checkout / "w").mkdir()
    shutil.copy(weights[0], checkout / "w" / "vgg.pth")
    (checkout / "weights").mkdir()
    shutil.copy(weights[1], checkout / "weights" / "decoder.pth")
    assert find_weights("vgg", cwd=elsewhere, checkout=checkout) == checkout / "w" / "vgg.pth"
    assert find_weights("decoder", cwd=elsewhere, checkout=checkout) == checkout / "weights" / "decoder.pth"
    (elsewhere / "weights").mkdir()  # the current folder's weights/ comes first
    shutil.copy(weights[0], elsewhere / "weights" / "vgg_normalised.pth")
    assert find_weights("vgg", cwd=elsewhere, checkout=checkout) == elsewhere / "weights" / "vgg_normalised.pth"
    assert "given with --vgg" in _refused(lambda: find_weights("vgg", tmp_path / "nowhere.pth"))


def _refused(call) -> str:
    try:
        call()
    except FileNotFoundError as error:
        return str(error)
    raise AssertionError("not refused")

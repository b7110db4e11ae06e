"""The painting list and what decides the painting statistics."""

import pytest
from PIL import Image

from adain.files.tsv import read_meta, read_tsv
from adain.stages.paintings import (
    chunk_fingerprint,
    painting_warnings,
    paintings_fingerprint,
    prepare_paintings,
    read_painting_list,
)
from tests.conftest import photo


def _folder(root):
    root.mkdir()
    photo("coffee", size=(300, 240)).save(root / "b_coffee.jpg")
    photo("astronaut", size=(260, 260)).save(root / "a_astronaut.png")
    photo("camera", size=(100, 300)).save(root / "small.jpg")
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.txt").write_text("not a painting")
    return root


def test_usable_paintings_are_listed_sorted_and_the_others_with_a_reason(tmp_path):
    style = _folder(tmp_path / "style")
    accepted, rejected = prepare_paintings(style, tmp_path / "a.tsv", tmp_path / "r.tsv", min_side=224)
    assert (accepted, rejected) == (2, 2)
    assert read_painting_list(tmp_path / "a.tsv") == ["a_astronaut.png", "b_coffee.jpg"]
    rows = {r["painting"]: r for r in read_tsv(tmp_path / "a.tsv")}
    assert (rows["b_coffee.jpg"]["width"], rows["b_coffee.jpg"]["height"]) == ("300", "240")
    assert int(rows["b_coffee.jpg"]["size"]) == (style / "b_coffee.jpg").stat().st_size
    reasons = {r["painting"]: r["reason"] for r in read_tsv(tmp_path / "r.tsv")}
    assert reasons == {"empty.jpg": "undecodable: empty file", "small.jpg": "too small: 100x300, a side < 224"}
    fingerprint = paintings_fingerprint(style, ["jpeg", "jpg", "png"], 224, 89478485)
    assert read_meta(tmp_path / "a.tsv")["fingerprint"] == fingerprint


def test_the_list_fingerprint_follows_the_folder_and_the_settings(tmp_path):
    style = _folder(tmp_path / "style")
    before = paintings_fingerprint(style, ["jpg", "png"], 224, 10**8)
    assert paintings_fingerprint(style, ["jpg", "png"], 200, 10**8) != before
    assert paintings_fingerprint(style, ["JPG", ".png"], 224, 10**8) == before  # spelling of extensions
    Image.new("RGB", (300, 300)).save(style / "new.png")
    assert paintings_fingerprint(style, ["jpg", "png"], 224, 10**8) != before


def test_a_chunk_is_decided_by_its_rows_the_weights_and_the_recipe():
    rows = [{"painting": "a.jpg", "size": "10", "mtime_ns": "1"}, {"painting": "b.jpg", "size": "20", "mtime_ns": "2"}]
    base = chunk_fingerprint(rows, "vgg1", "sin")
    assert chunk_fingerprint(rows[:1], "vgg1", "sin") != base
    assert chunk_fingerprint([rows[0], {**rows[1], "mtime_ns": "3"}], "vgg1", "sin") != base  # file touched
    assert chunk_fingerprint(rows, "vgg2", "sin") != base
    assert chunk_fingerprint(rows, "vgg1", "64") != base


def test_a_folder_without_paintings_is_an_error(tmp_path):
    (tmp_path / "style").mkdir()
    with pytest.raises(FileNotFoundError, match="no paintings"):
        prepare_paintings(tmp_path / "style", tmp_path / "a.tsv", tmp_path / "r.tsv")


def test_few_paintings_are_warned_about_never_refused():
    assert painting_warnings(1, 5000) == [
        "style_dir has one usable painting: every image is stylized with the same one"
    ]
    (warning,) = painting_warnings(5, 8)
    assert "5 usable paintings for shards of 8 images" in warning and "about 1.6 images of every shard" in warning
    assert "about 1.2 images" in painting_warnings(5, 6)[0] and "about 2 images" in painting_warnings(4, 8)[0]
    assert painting_warnings(79_433, 5000) == []

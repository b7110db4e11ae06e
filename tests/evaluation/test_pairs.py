"""Pairs that share a shape or a texture: Stylized-VOC names, a run's shards (styles_per_image 2),
the two label draws, seeds, and what has no partner."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PIL import Image

from adain.evaluation.pairs import Catalogue, draw_pairs, parse_svoc_name, shard_catalogue, svoc_catalogue
from adain.shards.format import ShardData, write_shard


def test_stylized_voc_names():
    assert parse_svoc_name("3_12_2008_000123.jpg") == ("3", "12", "2008_000123")
    assert parse_svoc_name("0_20_2007_000039.jpg") == ("0", "20", "2007_000039")  # make_stl_voc.py's first texture
    assert parse_svoc_name("12_2008_000123-stylized-cracked_0048.jpg") == ("cracked_0048", "12", "2008_000123")
    assert parse_svoc_name("1_7_2011_003276.PNG") == ("1", "7", "2011_003276")
    for bad in ("2008_000123.jpg", "3_cat_2008_000123.jpg", "3_12_2008_000123.txt", "12_2008_000123-cracked.jpg"):
        with pytest.raises(ValueError, match="Stylized-VOC"):
            parse_svoc_name(bad)


def _svoc(root, classes=4, contents=3, textures=5, size=(20, 14)):
    """The authors' layout: every content of every class in every texture, flat in one folder."""
    root.mkdir(parents=True, exist_ok=True)
    for c in range(1, classes + 1):
        for i in range(contents):
            for t in range(textures):
                Image.new("RGB", size, (10 * c, 20 * i, 40 * t)).save(root / f"{t}_{c}_2008_{c:02d}{i:04d}.jpg")
    return root


def test_svoc_catalogue(tmp_path):
    root = _svoc(tmp_path / "svoc")
    catalogue = svoc_catalogue(root)
    assert len(catalogue) == 4 * 3 * 5 and catalogue.kind == "svoc"
    assert catalogue.images == sorted(catalogue.images)
    i = catalogue.images.index(str(root / "2_3_2008_030001.jpg"))
    assert (catalogue.content[i], catalogue.texture[i], catalogue.label[i]) == ("3_2008_030001", "2", "3")
    only = svoc_catalogue(root, textures=["1", "2"])
    assert len(only) == 4 * 3 * 2 and set(only.texture) == {"1", "2"}
    (root / "notes.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="notes.jpg"):
        svoc_catalogue(root)
    with pytest.raises(ValueError, match="does not exist"):
        svoc_catalogue(tmp_path / "missing")


def _catalogue(classes=4, contents=25, textures=5) -> Catalogue:
    content, texture, label = [], [], []
    for c in range(classes):
        for i in range(contents):
            for t in range(textures):
                content.append(f"{c}-{i}")
                texture.append(str(t))
                label.append(str(c))
    return Catalogue(list(range(len(content))), content, texture, label, "memory", "svoc")


def _check_partners(catalogue: Catalogue, pairs) -> None:
    for a, b, f in zip(pairs.first.tolist(), pairs.second.tolist(), pairs.factors.tolist()):
        if f == 0:  # the same content in another texture
            assert catalogue.content[a] == catalogue.content[b] and catalogue.texture[a] != catalogue.texture[b]
        else:  # the same texture, another class
            assert catalogue.texture[a] == catalogue.texture[b] and catalogue.label[a] != catalogue.label[b]


def test_the_authors_four_way_draw_and_the_two_way_draw():
    catalogue = _catalogue()  # 500 images
    islam = draw_pairs(catalogue, seed=0)
    _check_partners(catalogue, islam)
    assert len(islam.first) == 500 and islam.first.tolist() == list(range(500))  # every image, once, first
    counts = Counter(islam.factors.tolist())
    assert set(counts) == {0, 1, 2, 3}
    # each label 1/4: 125 expected, sd ~9.7; five sd either way
    assert all(abs(counts[f] - 125) < 50 for f in range(4)), counts
    assert islam.counts() == {
        "pairs": 500,
        "shape": counts[0],
        "texture": counts[1],
        "variance_only": counts[2] + counts[3],
        "dropped_shape": 0,
        "dropped_texture": 0,
    }
    two = draw_pairs(catalogue, seed=0, draw="two-way")
    _check_partners(catalogue, two)
    counts = Counter(two.factors.tolist())
    assert set(counts) == {0, 1} and abs(counts[0] - 250) < 56, counts
    with pytest.raises(ValueError, match="unknown pair draw"):
        draw_pairs(catalogue, 0, draw="three-way")


def test_seeds_and_max_pairs():
    catalogue = _catalogue()
    a, b, c = draw_pairs(catalogue, 1), draw_pairs(catalogue, 1), draw_pairs(catalogue, 2)
    assert a.second.tolist() == b.second.tolist() and a.factors.tolist() == b.factors.tolist()
    assert a.factors.tolist() != c.factors.tolist()
    few = draw_pairs(catalogue, 1, max_pairs=60)
    assert len(few.first) == 60 and len(set(few.first.tolist())) == 60 and few.first.tolist() == sorted(few.first)
    _check_partners(catalogue, few)
    assert len(draw_pairs(catalogue, 1, max_pairs=0).first) == 500


def test_texture_partners_draw_the_class_first():
    """As the authors' loader: another class uniformly among those with this texture, then one of its
    images. Class A has 1 image in texture t, class B 9: A's share of the partners is about 1/2 (it
    would be 1/10 if the image were drawn directly)."""
    content = ["c0", "c0"] + ["a0", "a0"] + [f"b{i}" for i in range(9)] + ["b0"]
    texture = ["t", "u"] + ["t", "u"] + ["t"] * 9 + ["u"]
    label = ["C", "C"] + ["A", "A"] + ["B"] * 9 + ["B"]
    catalogue = Catalogue(list(range(len(content))), content, texture, label, "memory", "svoc")
    partners = Counter()
    for seed in range(400):
        pairs = draw_pairs(catalogue, seed, draw="two-way")
        for a, b, f in zip(pairs.first.tolist(), pairs.second.tolist(), pairs.factors.tolist()):
            if a == 0 and f == 1:
                partners[label[b]] += 1
    share = partners["A"] / (partners["A"] + partners["B"])
    assert 0.38 < share < 0.62, partners  # ~200 draws, sd ~0.035


def test_first_members_without_partners_are_dropped_and_counted():
    # content x appears in one texture only; texture v appears under one class only
    catalogue = Catalogue(
        [0, 1, 2, 3, 4],
        ["x", "y", "y", "z", "z"],
        ["t", "t", "u", "t", "v"],
        ["A", "B", "B", "C", "C"],
        "memory",
        "svoc",
    )
    dropped = Counter()
    for seed in range(50):
        pairs = draw_pairs(catalogue, seed, draw="two-way")
        _check_partners(catalogue, pairs)
        dropped.update(pairs.dropped)
        assert len(pairs.first) + sum(pairs.dropped.values()) == 5
    assert dropped["shape"] > 0 and dropped["texture"] > 0


def _shard(path, rows, size=8):
    """rows: (content, painting, wnid, k)."""
    n = len(rows)
    images = np.random.default_rng(0).integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    wnids = sorted({r[2] for r in rows})
    write_shard(
        path,
        ShardData(
            images=images,
            labels=np.array([wnids.index(r[2]) for r in rows]),
            content=[r[0] for r in rows],
            style=[r[1] for r in rows],
            wnid=[r[2] for r in rows],
            labels_clsloc=np.full(n, -1),
            k=np.array([r[3] for r in rows]),
        ),
    )


def run_rows(classes=("n01", "n02", "n03"), per_class=4, paintings=6, seed=0):
    """A run with styles_per_image 2: every content twice (k = 0, 1) with two different paintings."""
    rng = np.random.default_rng(seed)
    rows = []
    for wnid in classes:
        for i in range(per_class):
            first, second = rng.choice(paintings, size=2, replace=False)
            rows += [
                (f"val/{wnid}/{i}.JPEG", f"p{first}.jpg", wnid, 0),
                (f"val/{wnid}/{i}.JPEG", f"p{second}.jpg", wnid, 1),
            ]
    order = rng.permutation(len(rows))  # shards hold samples in a seeded random order
    return [rows[i] for i in order]


def test_shard_catalogue_and_pairs_of_a_run(tmp_path):
    rows = run_rows()
    _shard(tmp_path / "shards" / "val" / "val-00000.h5", rows[:10])
    _shard(tmp_path / "shards" / "val" / "val-00001.h5", rows[10:])
    _shard(tmp_path / "shards" / "train" / "train-00000.h5", [("train/n01/x.JPEG", "p0.jpg", "n01", 0)])
    catalogue = shard_catalogue(tmp_path, split="val")
    assert catalogue.kind == "shards" and catalogue.split == "val" and catalogue.images == list(range(24))
    assert list(zip(catalogue.content, catalogue.texture, catalogue.label)) == [r[:3] for r in rows]
    pairs = draw_pairs(catalogue, seed=3)
    _check_partners(catalogue, pairs)
    shape = [(a, b) for a, b, f in zip(pairs.first, pairs.second, pairs.factors) if f == 0]
    assert shape and all({rows[a][3], rows[b][3]} == {0, 1} for a, b in shape)  # k = 0 with k = 1
    assert len(shard_catalogue(tmp_path)) == 25


def test_a_run_with_one_style_per_image_has_no_shape_pairs(tmp_path):
    rows = [r for r in run_rows() if r[3] == 0]
    _shard(tmp_path / "val-00000.h5", rows)
    with pytest.raises(ValueError, match="styles_per_image >= 2"):
        draw_pairs(shard_catalogue(tmp_path), 0)

import pytest

from adain.stages.index_images import index_images, read_index, write_index


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_tree_labels_follow_imagefolder_and_missing_splits_are_noted(tmp_path):
    _touch(tmp_path, "train/n02/b.JPEG", "train/n02/a.jpeg", "train/n01/z.JPEG", "train/n01/notes.txt", "val/n03/c.png")
    index = index_images(tmp_path, ["train", "val", "test"])
    assert [(r.split, r.content, r.wnid, r.label) for r in index.records] == [
        ("train", "train/n01/z.JPEG", "n01", 0),
        ("train", "train/n02/a.jpeg", "n02", 1),
        ("train", "train/n02/b.JPEG", "n02", 1),
        ("val", "val/n03/c.png", "n03", 2),
    ]
    assert index.notes == [f"split 'test' skipped: {tmp_path / 'test'} does not exist"]
    per_split, notes = write_index(
        tmp_path, ["train", "val", "test"], tmp_path / "images.tsv", tmp_path / "classes.tsv"
    )
    assert read_index(tmp_path / "images.tsv") == index.records
    assert per_split == {"train": 3, "val": 1} and notes == index.notes
    assert (tmp_path / "classes.tsv").read_text().splitlines()[1:] == ["0\tn01\t1", "1\tn02\t2", "2\tn03\t1"]


def test_flat_val_with_kaggle_solution_csv_and_clsloc(tmp_path):
    _touch(
        tmp_path,
        "train/n01/a.JPEG",
        "train/n02/b.JPEG",
        "val/ILSVRC2012_val_00000001.JPEG",
        "val/ILSVRC2012_val_00000002.JPEG",
    )
    (tmp_path / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\nILSVRC2012_val_00000002,n01 1 2 3 4 n01 5 6 7 8\nILSVRC2012_val_00000001,n02 1 2 3 4\n"
    )
    (tmp_path / "map_clsloc.txt").write_text("n02 1 second\nn01 2 first\n")
    index = index_images(
        tmp_path,
        ["train", "val"],
        val_labels=tmp_path / "LOC_val_solution.csv",
        class_index=tmp_path / "map_clsloc.txt",
    )
    val = [(r.content, r.wnid, r.label, r.clsloc) for r in index.records if r.split == "val"]
    assert val == [("val/ILSVRC2012_val_00000001.JPEG", "n02", 1, 1), ("val/ILSVRC2012_val_00000002.JPEG", "n01", 0, 2)]


def test_flat_val_with_devkit_ground_truth(tmp_path):
    _touch(tmp_path, "val/ILSVRC2012_val_00000001.JPEG", "val/ILSVRC2012_val_00000002.JPEG")
    (tmp_path / "ground_truth.txt").write_text("2\n1\n")
    (tmp_path / "map.txt").write_text("n10 1 a\nn20 2 b\n")
    index = index_images(tmp_path, ["val"], val_labels=tmp_path / "ground_truth.txt", class_index=tmp_path / "map.txt")
    assert [r.wnid for r in index.records] == ["n20", "n10"]
    with pytest.raises(ValueError, match="class_index"):
        index_images(tmp_path, ["val"], val_labels=tmp_path / "ground_truth.txt")


def test_flat_split_without_labels_and_empty_tree_are_clear(tmp_path):
    _touch(tmp_path, "val/x.JPEG")
    with pytest.raises(ValueError, match="set val_labels"):
        index_images(tmp_path, ["val"])
    (tmp_path / "labels.txt").write_text("y.JPEG n01\n")
    with pytest.raises(ValueError, match="no label for 1 image"):
        index_images(tmp_path, ["val"], val_labels=tmp_path / "labels.txt")
    with pytest.raises(FileNotFoundError, match="no images"):
        index_images(tmp_path, ["train"])
    with pytest.raises(FileNotFoundError, match="content_dir not found"):
        index_images(tmp_path / "nope", ["train"])


def test_manifests_stream_into_shards_with_seeded_paintings(tmp_path):
    from adain.engine.painting_draws import draw_paintings
    from adain.stages.assign_styles import read_manifest, read_shard_list, write_manifests

    _touch(tmp_path, *[f"train/n0{c}/{i}.JPEG" for c in range(3) for i in range(4)], "val/n01/v.JPEG")
    write_index(tmp_path, ["train", "val"], tmp_path / "images.tsv", tmp_path / "classes.tsv")
    counts = write_manifests(
        tmp_path / "images.tsv", ["a.jpg", "b.jpg", "c.jpg"], 5, 5, tmp_path / "manifest", order="sorted"
    )
    assert counts == {"train": 3, "val": 1}
    assert read_shard_list(tmp_path / "manifest" / "shards.tsv") == [
        ("train", "00000", 5),
        ("train", "00001", 5),
        ("train", "00002", 2),
        ("val", "00000", 1),
    ]
    rows = [
        r
        for shard in ("00000", "00001", "00002")
        for r in read_manifest(tmp_path / "manifest" / "train" / f"{shard}.tsv")
    ]
    assert [r.content for r in rows] == sorted(r.content for r in rows)
    assert all(r.style == ["a.jpg", "b.jpg", "c.jpg"][draw_paintings(5, r.content, 3)[0]] for r in rows)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".manifest")]


def test_every_oddity_of_a_tree_has_one_documented_behaviour(tmp_path):
    import os

    _touch(
        tmp_path,
        "train/n01/a.JPEG",
        "train/n01/sub/deeper/b.JPEG",
        "train/n02/c.png",
        "train/stray.JPEG",
        "train/.ipynb_checkpoints/x.JPEG",
        "train/n01/...JPEG",
        "train/n01/.hidden.png",
    )
    (tmp_path / "train" / "n03_empty").mkdir()
    os.symlink("loop", tmp_path / "train" / "n01" / "loop")  # a link to itself
    os.symlink(tmp_path / "train" / "n01", tmp_path / "train" / "n01" / "sub" / "up")  # a folder loop
    os.symlink("loop.JPEG", tmp_path / "train" / "n02" / "loop.JPEG")
    index_rejects = tmp_path / "rejected.tsv"
    per_split, notes = write_index(
        tmp_path, ["train"], tmp_path / "images.tsv", tmp_path / "classes.tsv", rejected_tsv=index_rejects
    )
    records = read_index(tmp_path / "images.tsv")
    # nested files belong to their class folder (ImageFolder); hidden entries never make a class
    assert [(r.content, r.wnid, r.label) for r in records] == [
        ("train/n01/a.JPEG", "n01", 0),
        ("train/n01/sub/deeper/b.JPEG", "n01", 0),
        ("train/n02/c.png", "n02", 1),
    ]
    assert (tmp_path / "classes.tsv").read_text().splitlines()[1:] == ["0\tn01\t2", "1\tn02\t1", "2\tn03_empty\t0"]
    text = "\n".join(notes)
    assert "train: 1 hidden entry" in text and "train/n01: 2 hidden entries" in text
    assert "class folder train/n03_empty holds no images: it keeps label 2" in text
    assert "train/n01/loop: skipped, unreadable" in text and "train/n02/loop.JPEG: skipped, unreadable" in text
    assert "train/n01/sub/up: skipped, already indexed" in text
    assert "train/stray.JPEG\timage in the split's root" in index_rejects.read_text()


def test_a_flat_split_without_labels_is_still_an_error(tmp_path):
    _touch(tmp_path, "val/a.JPEG")
    with pytest.raises(ValueError, match="without class folders: set val_labels"):
        index_images(tmp_path, ["val"])


def test_shuffled_shards_are_a_seeded_class_mixed_permutation(tmp_path, monkeypatch):
    import adain.stages.assign_styles
    from adain.stages.assign_styles import read_manifest, read_shard_list, write_manifests

    _touch(tmp_path, *[f"train/n0{c}/{i}.JPEG" for c in range(4) for i in range(25)], "val/n01/v.JPEG")
    write_index(tmp_path, ["train", "val"], tmp_path / "images.tsv", tmp_path / "classes.tsv")
    index = [r.content for r in read_index(tmp_path / "images.tsv") if r.split == "train"]

    def shards(name, seed, **options):
        write_manifests(tmp_path / "images.tsv", None, seed, 10, tmp_path / name, **options)
        listing = read_shard_list(tmp_path / name / "shards.tsv")
        return [
            [r.content for r in read_manifest(tmp_path / name / s / f"{n}.tsv")] for s, n, _ in listing if s == "train"
        ]

    first = shards("a", seed=1)
    assert sorted(c for shard in first for c in shard) == sorted(index) and [len(s) for s in first] == [10] * 10
    assert all(len({c.split("/")[1] for c in shard}) >= 3 for shard in first)  # classes mixed in every shard
    assert shards("b", seed=1) == first and shards("c", seed=2) != first  # seeded
    assert (tmp_path / "a" / "train" / "00003.tsv").read_bytes() == (
        tmp_path / "b" / "train" / "00003.tsv"
    ).read_bytes()
    monkeypatch.setattr(adain.stages.assign_styles, "_ROWS_IN_MEMORY", 25)  # several passes over the index, same shards
    assert shards("d", seed=1) == first
    assert [c for shard in shards("e", seed=1, order="sorted") for c in shard] == index


def test_several_styles_per_image_are_k_seeded_distinct_samples(tmp_path, monkeypatch):
    import adain.stages.assign_styles
    from adain.engine.painting_draws import draw_paintings
    from adain.files.tsv import iter_tsv
    from adain.stages.assign_styles import (
        MANIFEST_COLUMNS,
        manifest_fingerprint,
        read_manifest,
        read_shard_list,
        write_manifests,
    )

    _touch(tmp_path, *[f"train/n0{c}/{i}.JPEG" for c in range(3) for i in range(7)])
    write_index(tmp_path, ["train"], tmp_path / "images.tsv", tmp_path / "classes.tsv")
    paintings = [f"p{i}.jpg" for i in range(6)]

    def samples(name, styles, **options):
        write_manifests(tmp_path / "images.tsv", paintings, 3, 4, tmp_path / name, styles_per_image=styles, **options)
        listing = read_shard_list(tmp_path / name / "shards.tsv")
        return [r for s, n, _ in listing for r in read_manifest(tmp_path / name / s / f"{n}.tsv")]

    one, three = samples("one", 1), samples("three", 3)
    assert len(three) == 3 * len(one) == 63
    by_image: dict = {}
    for row in three:
        by_image.setdefault(row.content, {})[row.k] = row.style
    assert all(sorted(ks) == [0, 1, 2] and len(set(ks.values())) == 3 for ks in by_image.values())  # distinct paintings
    assert all(
        by_image[r.content] == {k: paintings[d] for k, d in enumerate(draw_paintings(3, r.content, 6, 3))}
        for r in three
    )
    assert {r.content: r.style for r in one} == {c: ks[0] for c, ks in by_image.items()}  # k = 0 is the K = 1 draw
    # samples of one image are spread (shuffled), the same seed repeats them byte for byte
    assert [(r.content, r.k) for r in samples("again", 3)] == [(r.content, r.k) for r in three]
    assert (tmp_path / "three" / "train" / "00002.tsv").read_bytes() == (
        tmp_path / "again" / "train" / "00002.tsv"
    ).read_bytes()
    assert [(r.content, r.k) for r in three] != sorted((r.content, r.k) for r in three)
    monkeypatch.setattr(adain.stages.assign_styles, "_ROWS_IN_MEMORY", 8)  # several passes over the index: same samples
    assert [(r.content, r.k, r.style) for r in samples("passes", 3)] == [(r.content, r.k, r.style) for r in three]
    sorted_rows = samples("sorted", 2, order="sorted")
    assert [(r.content, r.k) for r in sorted_rows] == sorted((r.content, k) for r in one for k in range(2))
    # K = 1 keeps the columns and the fingerprint a run had before the option
    assert list(next(iter_tsv(tmp_path / "one" / "train" / "00000.tsv"))) == MANIFEST_COLUMNS
    assert list(next(iter_tsv(tmp_path / "three" / "train" / "00000.tsv"))) == MANIFEST_COLUMNS + ["k"]
    assert manifest_fingerprint(tmp_path / "images.tsv", "d", 3, 4) == manifest_fingerprint(
        tmp_path / "images.tsv", "d", 3, 4, "shuffled", 1
    )
    assert manifest_fingerprint(tmp_path / "images.tsv", "d", 3, 4, "shuffled", 2) != manifest_fingerprint(
        tmp_path / "images.tsv", "d", 3, 4
    )
    with pytest.raises(ValueError, match="needs paintings"):
        write_manifests(tmp_path / "images.tsv", None, 3, 4, tmp_path / "none", styles_per_image=2)
    with pytest.raises(ValueError, match="only 6 are usable"):
        write_manifests(tmp_path / "images.tsv", paintings, 3, 4, tmp_path / "many", styles_per_image=7)

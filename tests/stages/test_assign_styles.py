import pytest

from adain.engine.painting_draws import assign_paintings, draw_paintings


def test_draws_are_seeded_per_key_and_independent_of_the_other_keys():
    keys = [f"train/n{i:03d}/img_{i}.JPEG" for i in range(200)]
    full = assign_paintings(7, keys, 50)
    assert full == assign_paintings(7, keys, 50)
    assert assign_paintings(7, keys[::-1], 50) == full[::-1]
    assert assign_paintings(7, keys[100:], 50) == full[100:]
    assert assign_paintings(8, keys, 50) != full
    counts = [sum(p == [k] for p in full) for k in range(50)]
    assert max(counts) < 20  # spread over the paintings


def test_several_distinct_paintings_and_unusable_ones_are_skipped():
    draws = draw_paintings(0, "a.png", 5, count=5)
    assert sorted(draws) == [0, 1, 2, 3, 4]
    first = draw_paintings(0, "a.png", 5, count=2)
    replaced = draw_paintings(0, "a.png", 5, count=2, unusable={first[0]})
    assert first[0] not in replaced and first[1] == replaced[0]
    with pytest.raises(ValueError, match="only 3 are usable"):
        draw_paintings(0, "a.png", 5, count=4, unusable={0, 1})


def test_the_manifests_record_their_settings_so_a_rebuild_names_what_changed(tmp_path):
    from adain.stages.assign_styles import (
        manifest_changes,
        manifest_fingerprint,
        manifest_settings,
        read_manifest_fingerprint,
        read_manifest_settings,
        write_manifests,
    )
    from adain.stages.fingerprints import digest
    from adain.stages.index_images import write_index

    for i in range(5):
        (tmp_path / "train" / "n01").mkdir(parents=True, exist_ok=True)
        (tmp_path / "train" / "n01" / f"{i}.JPEG").write_bytes(b"x")
    write_index(tmp_path, ["train"], tmp_path / "images.tsv", tmp_path / "classes.tsv")
    paintings = ["a.jpg", "b.jpg", "c.jpg"]
    write_manifests(tmp_path / "images.tsv", paintings, 0, 2, tmp_path / "m", styles_per_image=1)
    recorded = read_manifest_settings(tmp_path / "m")
    assert read_manifest_fingerprint(tmp_path / "m") == digest(recorded)  # the fingerprint is their digest
    names = digest(paintings)
    assert recorded == manifest_settings(tmp_path / "images.tsv", names, 0, 2)
    assert digest(recorded) == manifest_fingerprint(tmp_path / "images.tsv", names, 0, 2)
    assert manifest_changes(recorded, manifest_settings(tmp_path / "images.tsv", names, 1, 2)) == ["seed 0 -> 1"]
    planned = manifest_settings(tmp_path / "images.tsv", digest(paintings[:2]), 0, 4, "sorted", 2)
    assert manifest_changes(recorded, planned) == [
        "shard_size 2 -> 4",
        "order shuffled -> sorted",
        "styles_per_image 1 -> 2",
        "the usable paintings",
    ]
    assert manifest_changes(None, planned) == []  # manifests made before the settings were recorded

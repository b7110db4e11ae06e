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

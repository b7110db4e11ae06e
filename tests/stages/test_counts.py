"""A run's three counts in one vocabulary, also read from a summary.json made before it."""

from adain.stages.counts import RunCounts, plural, reason_kind


def test_the_phrase_names_the_three_counts_apart_in_singular_and_plural():
    assert RunCounts(18, 0, 1).phrase() == "18 images stylized, 0 content rejects, 1 painting reject"
    assert RunCounts(1, 2, 0).phrase() == "1 image stylized, 2 content rejects, 0 painting rejects"
    assert RunCounts(6, 1, None, "none").phrase() == "6 images packed, 1 content reject"  # no paintings drawn
    assert RunCounts(6, 0, None, "gaussian").phrase() == "6 images filtered, 0 content rejects"
    assert plural(1, "image") == "1 image" and reason_kind("too small: 180x140, a side < 224") == "too small"


def test_counts_of_a_summary_with_and_without_its_counts_record():
    splits = {"train": {"packed": 12, "rejected": 1}, "val": {"packed": 6, "rejected": 0}}
    older = {"splits": splits, "paintings_rejected": 1, "style_dir": "/data/paintings"}
    assert RunCounts.from_summary(older) == RunCounts(18, 1, 1, "adain")
    recorded = {**older, "method": "adain", "counts": {"images": 18, "content_rejects": 1, "painting_rejects": 1}}
    assert RunCounts.from_summary(recorded) == RunCounts.from_summary(older)
    assert RunCounts.from_summary({"splits": splits, "style_dir": None}).painting_rejects is None

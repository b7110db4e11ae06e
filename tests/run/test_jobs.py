"""What the jobs say on the console beside their work."""

from adain.run.jobs import painting_warnings


def test_few_paintings_are_warned_about_never_refused():
    assert painting_warnings(1, 5000) == [
        "style_dir has one usable painting: every image is stylized with the same one"
    ]
    (warning,) = painting_warnings(5, 8)
    assert "5 usable paintings for shards of 8 images" in warning and "about 2 images" in warning
    assert painting_warnings(79_433, 5000) == []

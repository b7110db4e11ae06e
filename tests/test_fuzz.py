"""Fuzz: hostile inputs (random bytes, truncated files, headers claiming absurd sizes, extreme
aspect ratios, names that are not UTF-8, very long, dotted, dashed, with tabs and newlines)
through index -> stylize -> validate -> pack -> export -> read, seeded, on a time budget."""

import json
import os
import subprocess
import sys

from tests.workflow_utils import REPO

SECONDS = 30
PEAK_MB = 2000  # the process imports torch (~1 GB here); a 20000x2 PNG alone once took 3.35 GB


def test_hostile_inputs_never_crash_escape_or_eat_memory(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    sentinel = tmp_path / "outside"
    sentinel.mkdir()
    around = sorted(os.listdir(tmp_path.parent))
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz_pipeline", str(work), "20261202", str(SECONDS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SECONDS + 240,
    )
    assert result.returncode == 0, result.stderr[-5000:]  # no crash: every oddity became data or a reject
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["rounds"] >= 3 and figures["inputs"] >= 100 and figures["crashes"] == 0
    assert figures["indexed"] == figures["packed"] + figures["rejected"] and figures["packed"] > 0
    assert figures["peak_rss_mb"] < PEAK_MB, figures
    # nothing written outside each round's content, output and export folders
    for root, _, files in os.walk(os.fsencode(work)):
        relative = os.path.relpath(root, os.fsencode(work)).split(b"/")
        assert relative == [b"."] or (
            relative[0].startswith(b"round") and (len(relative) == 1 or relative[1] in (b"content", b"out", b"export"))
        ), root
        if relative == [b"."] or len(relative) == 1:
            assert not files, (root, files)
    assert os.listdir(sentinel) == [] and sorted(os.listdir(tmp_path)) == ["outside", "work"]
    assert sorted(os.listdir(tmp_path.parent)) == around
    print(f"fuzz: {figures}")


def test_a_checkpoint_of_rejects_only_does_not_break_the_shard(tmp_path):
    """Found by the fuzz test: a checkpoint part whose images were all rejected."""
    import numpy as np
    from PIL import Image

    from adain.shards.format import read_shard
    from adain.stages.assign_styles import write_manifests
    from adain.stages.index_images import write_index
    from adain.stages.settings import StylizeSettings
    from adain.stages.stylize_shard import stylize_shard

    folder = tmp_path / "content" / "train" / "n01"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"")  # rejected: alone in its checkpoint part
    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(folder / "c.png")
    write_index(tmp_path / "content", ["train"], tmp_path / "images.tsv", tmp_path / "classes.tsv", ["png"])
    write_manifests(tmp_path / "images.tsv", None, 0, 8, tmp_path / "manifest")
    result = stylize_shard(
        tmp_path / "manifest" / "train" / "00000.tsv",
        None,
        tmp_path / "content",
        None,
        None,
        tmp_path / "00000.h5",
        StylizeSettings.defaults(
            preset="sin",
            device="cpu",
            batch_size=1,
            workers=0,
            checkpoint_images=1,
            checkpoint_seconds=0,
            method="gaussian",
        ),
    )
    data = read_shard(tmp_path / "00000.h5")
    assert (
        result["images"] == 2 and data.images.shape == (2, 224, 224, 3) and data.rejected_content == ["train/n01/b.png"]
    )

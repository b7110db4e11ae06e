"""Wrong settings, missing weights and hostile inputs: clear errors before any work, or recorded
rejects; and the workflow lints clean."""

import json
import shutil
import subprocess
import sys
import time

from tests.workflow_utils import REPO, SNAKEMAKE, read_datasets, run_workflow, workflow_command


def _short(result) -> str:
    """A refusal's whole console output: at most 15 lines, no traceback, no schema dump."""
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert len(log.splitlines()) <= 15 and "Traceback" not in log and "Exception" not in log, log
    return log


def test_bad_config_fails_before_any_work(demo, tmp_path):
    root, config = demo
    result = run_workflow(tmp_path, **{**config, "preset": "128"}, output_dir=tmp_path / "out", check=False)
    assert "preset: 128 is not one of ['sin', 'full', '64', 64]" in _short(result)
    result = run_workflow(tmp_path, **config, output_dir=tmp_path / "out", shard_sise=3, check=False)
    assert "shard_sise: not a setting; did you mean shard_size?" in _short(result)
    assert not (tmp_path / "out").exists()


def test_an_output_folder_inside_an_input_folder_is_refused(demo, tmp_path):
    root, config = demo
    inside = root / "imagenet" / "train" / "out"  # it would become a class of the split
    log = _short(run_workflow(tmp_path, **config, output_dir=inside, check=False))
    assert f"output_dir {inside} is inside content_dir {root / 'imagenet'}" in log
    log = _short(run_workflow(tmp_path, **config, output_dir=root, check=False))  # the inputs below the output
    assert f"content_dir {root / 'imagenet'} is inside output_dir {root}" in log
    assert not inside.exists()


def test_a_misspelt_key_or_a_nested_output_folder_is_refused_before_torch_is_imported(demo, tmp_path):
    """Refusals come before the heavy imports (torch alone takes seconds): what Python imported
    on the way to each refusal holds no torch."""
    root, config = demo
    for overrides, expected in (
        ({"output_dir": tmp_path / "out", "shard_sise": 3}, "shard_sise: not a setting; did you mean shard_size?"),
        ({"output_dir": root / "imagenet" / "out"}, "is inside content_dir"),
    ):
        command = workflow_command(tmp_path, {**config, **overrides})
        assert command[0] == sys.executable
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-X", "importtime", *command[1:]], capture_output=True, text=True, timeout=120
        )
        seconds = time.monotonic() - started
        assert result.returncode != 0 and expected in result.stderr, result.stderr[-2000:]
        imported = {
            line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")
        }
        assert "snakemake" in imported and not {m for m in imported if m.split(".")[0] == "torch"}, seconds


def test_missing_weights_without_network_say_what_to_do(demo, tmp_path):
    root, config = demo
    result = run_workflow(
        tmp_path,
        **{**config, "vgg_weights": tmp_path / "w" / "vgg_normalised.pth"},
        output_dir=tmp_path / "out",
        check=False,
    )
    log = _short(result)
    assert "releases/download/v0.0.0/vgg_normalised.pth" in log and "put it at" in log
    assert not (tmp_path / "w" / "vgg_normalised.pth").exists() and not list((tmp_path / "w").glob(".*"))
    assert "index_images" not in log  # before any job


def test_lint():
    result = subprocess.run(
        [*SNAKEMAKE, "--lint", "-s", str(REPO / "Snakefile")], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_odd_and_broken_inputs_as_content_and_as_paintings(demo, tmp_path):
    from tests.conftest import write_odd_inputs

    root, config = demo
    content = tmp_path / "imagenet"
    shutil.copytree(REPO / "demo" / "imagenet" / "val", content / "val")
    odd_content = write_odd_inputs(content / "val" / "n09999999", base_size=(48, 40), huge=(400, 400))
    paintings = tmp_path / "paintings"
    shutil.copytree(REPO / "demo" / "paintings", paintings)
    odd_paintings = write_odd_inputs(paintings / "odd", base_size=(256, 240), huge=(400, 400))
    (content / "val" / "n08888888").mkdir()  # an empty class folder
    result = run_workflow(
        tmp_path,
        **{**config, "content_dir": content, "style_dir": paintings},
        output_dir=tmp_path / "out",
        splits="[val]",
        max_pixels=100_000,
        shard_size=8,
    )
    # the end of the run says what was rejected and noted, on the console
    console = result.stdout + result.stderr
    assert f"adain: {tmp_path / 'out'}: " in console and " images stylized, " in console
    assert "adain:   content rejects: " in console and "adain:   painting rejects: " in console
    assert "note(s) from indexing" in console and "class folder val/n08888888 holds no images" in console
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["splits"]["val"]
    # sin resizes the shorter side to 256, so a 1x1 image and a 3000x7 sliver become usable
    broken = {n for n, reason in odd_content.items() if reason and "too small" not in reason}
    assert summary["indexed"] == 6 + len(odd_content) == summary["packed"] + summary["rejected"]
    assert summary["classes"].get("n08888888", 0) == 0
    assert summary["rejected"] == len(broken)
    rejects = (tmp_path / "out" / "rejects.tsv").read_text()
    reasons = {line.split("\t")[2]: line.split("\t")[3] for line in rejects.splitlines()[1:]}
    for name in broken:
        assert odd_content[name] in reasons[f"val/n09999999/{name}"]
    packed = {c.decode() for s in (tmp_path / "out" / "shards").rglob("*.h5") for c in read_datasets(s)["content"]}
    for name in odd_content:
        assert (f"val/n09999999/{name}" in packed) == (name not in broken)
    for name, reason in odd_paintings.items():
        if reason:  # broken, too small (< 224) or over the pixel guard: listed, never used
            assert f"odd/{name}" in reasons
        else:  # CMYK, grayscale, PNG named .JPEG, RGBA, palette, 16-bit: converted and usable
            assert f"odd/{name}" in (tmp_path / "out" / "paintings" / "accepted.tsv").read_text()
            assert f"odd/{name}" not in reasons


def test_clear_errors_before_any_work(demo, tmp_path, weights):
    root, config = demo
    empty = tmp_path / "empty"
    (empty / "train").mkdir(parents=True)
    (tmp_path / "a_file").write_text("x")
    # every problem of folders and settings at once, in one message before any job runs; the
    # weights (reading them imports torch, seconds) once those are right
    settings = {
        **config,
        "vgg_weights": weights[1],
        "content_dir": empty,
        "style_dir": empty,
        "output_dir": tmp_path / "a_file" / "out",
    }
    result = run_workflow(tmp_path, **settings, check=False)
    assert result.returncode != 0
    for message in (
        f"content_dir {empty} holds no images",
        f"style_dir {empty} holds no images",
        "cannot be written",
    ):
        assert message in result.stdout + result.stderr, message
    assert "vgg_weights" not in result.stdout + result.stderr
    assert "index_images" not in result.stdout + result.stderr  # no job started
    settings = {**config, "vgg_weights": weights[1], "output_dir": tmp_path / "out"}
    result = run_workflow(tmp_path, **settings, check=False)
    assert result.returncode != 0 and "vgg_weights: " + str(weights[1]) in result.stderr, result.stderr[-2000:]
    assert "index_images" not in result.stdout + result.stderr


def test_the_snakefile_run_from_another_folder_reads_the_checkouts_config(tmp_path):
    """`snakemake -s <checkout>/Snakefile` elsewhere, without --configfile: the checkout's
    config.yaml is read (its demo paths, relative, are then looked for in the folder run in)."""
    result = subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-n", "--cores", "1", "--config", f"output_dir={tmp_path / 'out'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    printed = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in printed
    assert f"Config file {REPO / 'config.yaml'} is extended" in printed
    assert "content_dir demo/imagenet does not exist" in printed

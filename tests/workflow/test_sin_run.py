"""The sin preset end to end through the workflow, once, and what is checked on that run: counts,
labels, rejects and format, pixels against the engine by hand, repeatability, a SIGKILL-and-resume
run, the report, the card, inspect, evaluation and the IN-beside-SIN alignment."""

import json
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from adain.core.model import load_adain
from adain.engine.images import Preprocess, open_rgb, square_thumbnail, to_uint8_tensor
from adain.engine.stylizer import Stylizer
from adain.stages.paintings import read_painting_list
from tests.workflow_utils import kill_group, read_datasets, run_workflow, start_workflow, wait_for


@pytest.fixture(scope="module")
def sin_run(demo, tmp_path_factory):
    root, config = demo
    work = tmp_path_factory.mktemp("sin")
    result = run_workflow(work, **config, output_dir=work / "out", preset="sin", shard_size=8, **SIN_SETTINGS)
    (work / "console.txt").write_text(result.stdout + result.stderr)  # beside out/, for the tests to read
    return work / "out", config


#: Small batches and checkpoints so that a killed stylize job has checkpoints to resume from.
SIN_SETTINGS = {"batch_size": 4, "checkpoint_images": 4, "decode": "exact"}  # the PIL recipe, checked by hand below


def test_sin_counts_labels_rejects_and_format(sin_run):
    out, config = sin_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["splits"]["train"] == {
        "indexed": 14,
        "samples": 14,
        "packed": 13,
        "rejected": 1,
        "classes": {"n02123045": 5, "n04266014": 4, "n07920052": 4},
    }
    assert summary["splits"]["val"]["packed"] == 6 and summary["shards"] == 3
    rejects = (out / "rejects.tsv").read_text()
    assert "train/n02123045/n02123045_broken.JPEG\tundecodable" in rejects
    assert "99999_too_small.jpg\ttoo small: 180x140" in rejects
    classes = ["n02123045", "n04266014", "n07920052"]
    shards = sorted((out / "shards").rglob("*.h5"))
    assert [s.relative_to(out / "shards").as_posix() for s in shards] == [
        "train/train-00000.h5",
        "train/train-00001.h5",
        "val/val-00000.h5",
    ]
    for shard in shards:
        data = read_datasets(shard)
        n = len(data["labels"])
        assert data["images"].shape == (n, 224, 224, 3) and data["images"].dtype == np.uint8
        assert data["labels"].dtype == np.int64
        for content, label, style in zip(data["content"], data["labels"], data["style"]):
            content, style = content.decode(), style.decode()
            assert content.split("/")[0] == shard.parent.name
            assert classes[label] == content.split("/")[1]
            assert (Path(config["style_dir"]) / style).is_file() and style != "99999_too_small.jpg"
        with h5py.File(shard) as handle:
            attrs = dict(handle.attrs)
        assert attrs["preset"] == "sin" and attrs["seed"] == 0 and attrs["alpha"] == 1.0
        assert len(attrs["vgg_sha256"]) == 64 and len(attrs["fingerprint"]) == 64 and attrs["validated"]
        assert len(attrs["stylization_fingerprint"]) == 64 and attrs["random_standin_weights"]
        assert "dataset_fingerprint" not in attrs  # its older name, still read in older shards
    assert (out / "report" / "sample_grid.png").is_file()
    assert not list((out / "stylized").rglob("*.h5"))  # staging files are temporary


def test_one_count_in_the_run_status_inspect_verify_summary_and_card(sin_run, capsys):
    """The demo copy holds a broken content image and the demo's too-small painting: rejects of
    both kinds. The run's last lines, `adain status`, `adain inspect`, `adain verify`,
    summary.json and the card say the same three counts, in the same words, and that the weights
    were stand-ins."""
    from adain.cli.main import main
    from adain.stages.counts import RANDOM_STANDIN_WARNING, RunCounts

    out, _ = sin_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"images": 19, "content_rejects": 1, "painting_rejects": 1}
    assert summary["rejects_by_reason"] == {"content": {"undecodable": 1}, "painting": {"too small": 1}}
    phrase = RunCounts.from_summary(summary).phrase()
    assert phrase == "19 images stylized, 1 content reject, 1 painting reject"
    console = (out.parent / "console.txt").read_text()
    said = {"run": console[console.rindex(f"adain: {out}: ") :]}
    for command in ("status", "inspect", "verify"):
        main([command, str(out)])
        said[command] = capsys.readouterr().out
    said["card"] = (out / "README.md").read_text()
    for where, text in said.items():
        assert phrase in text and RANDOM_STANDIN_WARNING in text, (where, text)
    assert "content rejects: 1 undecodable" in said["run"] and "painting rejects: 1 too small" in said["run"]
    assert "(as summary.json says)" in said["verify"] and "19 images read" in said["verify"]
    assert "(20 of 20 content images done)" in said["status"]


def test_the_console_is_one_line_per_job_and_ends_with_where_to_look(sin_run):
    """No Snakemake step counter (it went backwards when a checkpoint added jobs), no scheduling
    chatter; the run's own progress only grows; the end names the grid, plots, card and the
    report command."""
    out, _ = sin_run
    lines = (out.parent / "console.txt").read_text().splitlines()
    jobs = [line for line in lines if re.match(r"Job \d+: \w+", line)]
    # index, prepare, one statistics chunk, merge, assign, 3 x (stylize, validate, pack), summarize, all
    assert len(jobs) == 16 and sum(": stylize_shard " in line for line in jobs) == 3, jobs
    assert not [line for line in lines if " steps (" in line or line.startswith(("Select jobs", "Execute "))]
    shards = [int(re.search(r"\| (\d+) of 3 shards", line)[1]) for line in lines if line.startswith("adain: stylized")]
    assert shards == [1, 2, 3]
    # stand-in weights are said before any job and after each shard, as at the end
    first_job = lines.index(jobs[0])
    assert [line for line in lines[:first_job] if "random stand-in weights — not a real dataset" in line]
    assert all(line.endswith("| random stand-in weights") for line in lines if line.startswith("adain: stylized"))
    assert len(lines) <= 2 * len(jobs) + 25, len(lines)
    end = "\n".join(lines[lines.index("adain: look at:") :])
    for path in ("report/sample_grid.png", "report/plots.png", "README.md"):
        assert f"{out / path}" in end
    assert "snakemake -s " in end and " --report report.html" in end


def test_sin_equals_the_engine_applied_by_hand(sin_run, weights):
    out, config = sin_run
    data = read_datasets(out / "shards" / "val" / "val-00000.h5")
    model = load_adain(*weights)
    stylizer = Stylizer(model, device="cpu", batch_size=SIN_SETTINGS["batch_size"])
    paintings = read_painting_list(out / "paintings" / "accepted.tsv")
    style_dir = Path(config["style_dir"])
    # painting statistics as the workflow forms them: the (224x224) paintings in batches of 4
    thumbs = torch.stack([to_uint8_tensor(square_thumbnail(open_rgb(style_dir / p), 224)) for p in paintings])
    stats = dict(zip(paintings, torch.cat([stylizer.encode_stats(b) for b in thumbs.split(4)])))
    recipe = Preprocess("resize-crop", 256, 224)
    contents = torch.stack(
        [to_uint8_tensor(recipe(open_rgb(Path(config["content_dir"]) / c.decode()))) for c in data["content"]]
    )
    style = torch.stack([stats[s.decode()] for s in data["style"]])
    expected = torch.cat([stylizer.stylize(c, s) for c, s in zip(contents.split(4), style.split(4))])
    expected = expected.permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(data["images"], expected)


def test_same_config_and_seed_give_identical_shards(sin_run, demo, tmp_path):
    out, config = sin_run
    run_workflow(
        tmp_path, **{**config, "workers": 0}, output_dir=tmp_path / "again", preset="sin", shard_size=8, **SIN_SETTINGS
    )
    for shard in sorted((out / "shards").rglob("*.h5")):
        first, second = read_datasets(shard), read_datasets(tmp_path / "again" / shard.relative_to(out))
        for name in ("images", "labels", "content", "style"):
            np.testing.assert_array_equal(first[name], second[name])


def _locked_since(workdir: Path, since: float) -> bool:
    """Whether Snakemake lock files written after ``since`` exist in ``workdir``."""
    for path in (workdir / ".snakemake" / "locks").glob("*.lock"):
        try:
            if path.stat().st_mtime >= since:
                return True
        except FileNotFoundError:
            pass
    return False


def test_sigkill_at_random_moments_then_resume_gives_identical_shards(sin_run, tmp_path):
    """Kill the whole process group repeatedly (once surely inside a stylize job, after its first
    checkpoint); the same command then completes, and the shards equal an uninterrupted run's."""
    out, config = sin_run
    run_config = {**config, "output_dir": tmp_path / "out", "preset": "sin", "shard_size": 8, **SIN_SETTINGS}
    rng = random.Random(1234)
    parts = lambda: any((tmp_path / "out" / "stylized").glob("*/*.h5.parts/*.npz"))  # noqa: E731
    kills = 0
    process = start_workflow(tmp_path, run_config)
    if wait_for(parts, process):  # mid-shard, right after a checkpoint
        kill_group(process)
        kills += 1
        # where the killed run stands, from the output folder alone
        from adain.run.status import format_status, run_status

        status = run_status(tmp_path / "out")
        assert status.planned_shards == 3 and status.in_progress and status.done_shards < 3
        assert "in progress" in format_status(status) and "checkpointed" in format_status(status)
        # a second run may start while nothing runs: the killed run's locks are stale
        started = time.time()
        concurrent_a = start_workflow(tmp_path, run_config)
        assert wait_for(lambda: _locked_since(tmp_path, started), concurrent_a)
        concurrent_b = start_workflow(tmp_path, run_config, output=subprocess.PIPE)  # ... but never beside a live run
        output, _ = concurrent_b.communicate(timeout=120)
        assert concurrent_b.returncode != 0 and "is in use by a live run" in output, output[-2000:]
        kill_group(concurrent_a)
        kills += 1
    for _ in range(4):
        process = start_workflow(tmp_path, run_config)
        time.sleep(rng.uniform(2.0, 12.0))
        if process.poll() is None:
            kill_group(process)
            kills += 1
    assert kills >= 5
    run_workflow(tmp_path, **run_config)  # the same command, no --unlock, no --rerun-incomplete
    logs = "".join(p.read_text() for p in (tmp_path / "out" / "logs" / "stylize_shard").rglob("*.log"))
    assert "resuming" in logs
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["splits"] == json.loads((out / "summary.json").read_text())["splits"]
    for shard in sorted((out / "shards").rglob("*.h5")):
        first, second = read_datasets(shard), read_datasets(tmp_path / "out" / shard.relative_to(out))
        for name in ("images", "labels", "content", "style"):
            np.testing.assert_array_equal(first[name], second[name])
    assert not list((tmp_path / "out").rglob(".*.tmp-*")) and not list((tmp_path / "out").rglob("*.parts"))
    assert not list((tmp_path / "out").rglob("*.lock"))


@pytest.fixture(scope="module")
def sin_report(sin_run):
    """`snakemake --report report.html` of the sin run, in its working folder."""
    out, config = sin_run
    report = out.parent / "report.html"
    run_workflow(
        out.parent, "--report", str(report), **config, output_dir=out, preset="sin", shard_size=8, **SIN_SETTINGS
    )
    return report


def test_report_bundles_the_pages_and_its_rule_graph_is_the_whole_chain(sin_report):
    html = sin_report.read_text(errors="replace")
    for bundled in ("sample_grid.png", "plots.png", "card.html", "rejects.html", "summary.json", "rejects.tsv"):
        assert bundled in html, bundled
    start = html.index("var rulegraph_spec = ") + len("var rulegraph_spec = ")
    spec = json.loads(html[start : html.index("\n", start)].rstrip().rstrip(";"))
    data = {d["name"]: d.get("values", []) for d in spec["data"]}
    assert [n["rule"] for n in data["node-data"]] == [
        "index_images",
        "prepare_paintings",
        "compute_painting_stats",
        "merge_painting_stats",
        "assign_styles",  # once missing: no input of a later rule named its output folder
        "stylize_shard",
        "validate_shard",
        "pack_shard",
        "summarize",
        "all",
    ]


def test_the_report_shows_what_was_built_the_grid_and_the_card_in_a_browser(sin_run, sin_report):
    """Rendered by headless Chromium: the landing page says what was built (counts, rejects, speed,
    stand-in weights) and shows the sample grid; the dataset card opens rendered in the page."""
    from adain.stages.counts import RANDOM_STANDIN_WARNING
    from tests.browser import NO_CHROMIUM, HeadlessChromium, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip(NO_CHROMIUM)
    out, _ = sin_run
    phrase = "19 images stylized, 1 content reject, 1 painting reject"
    with HeadlessChromium(chromium) as browser:
        browser.open(sin_report.as_uri())
        landing = browser.wait_for(
            f"typeof app === 'object' && document.body.innerText.includes({json.dumps(phrase)}) "
            "&& document.body.innerText"
        )
        assert landing, "the landing page never said what was built"
        for said in ("Stylized-ImageNet, preset sin", RANDOM_STANDIN_WARNING, "content rejects: 1 undecodable"):
            assert said in landing, said
        assert "painting rejects: 1 too small" in landing and "images/s" in landing
        grid = browser.wait_for(
            "(() => { const i = [...document.images].find(i => (i.alt || '').startsWith('sample grid'));"
            " return i && i.complete && [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]; })()"
        )
        assert grid and grid[0] > 500 and grid[1] > 200 and grid[2] > 200, grid  # decoded and drawn
        browser.evaluate("app.showCategory('1. Dataset')")  # as a click on "1. Dataset" in the menu
        assert browser.wait_for("[...document.querySelectorAll('tr')].some(r => r.innerText.includes('dataset card'))")
        browser.evaluate(  # the row's view button, clicked
            "[...document.querySelectorAll('tr')].find(r => r.innerText.includes('dataset card')).querySelector('a')"
            ".click()"
        )
        assert browser.wait_for("document.querySelector('iframe') !== null")
        frame = None
        for _ in range(50):
            frame = browser.frame_context("data:text/html")
            if frame is not None:
                break
            time.sleep(0.1)
        card = browser.wait_for("document.body && document.body.innerText", context=frame)
    assert card and card.startswith("Stylized-ImageNet, preset sin"), card
    assert f"{phrase}." in card and "How it was made" in card and "Licences" in card
    assert "| split |" not in card  # a table, rendered, not Markdown source


def test_a_report_without_snakemakes_records_says_so_in_one_line(sin_run, tmp_path):
    """From another working directory (a fresh clone, .snakemake/ deleted): no job records."""
    out, config = sin_run
    report = tmp_path / "report.html"
    result = run_workflow(
        tmp_path, "--report", str(report), **config, output_dir=out, preset="sin", shard_size=8, **SIN_SETTINGS
    )
    printed = result.stdout + result.stderr
    assert "Missing metadata" not in printed
    assert printed.count("Snakemake holds no job records for outputs of this run") == 1
    html = report.read_text(errors="replace")
    for bundled in ("summary.json", "rejects.tsv", "sample_grid.png", "plots.png", "README.md"):
        assert bundled in html


def test_inspect_shows_one_image_under_every_method(sin_run, tmp_path, capsys):
    from adain.cli.main import main

    out, config = sin_run
    assert (
        main(
            [
                "inspect",
                str(out),
                "--methods",
                str(tmp_path / "methods.png"),
                "--content-dir",
                str(config["content_dir"]),
            ]
        )
        == 0
    )
    assert "under original, gaussian, bilateral, anisotropic, cartoon" in capsys.readouterr().out
    assert Image.open(tmp_path / "methods.png").size == (5 * 224, 224)


def test_a_duplicate_stylize_job_waits_for_the_first_and_does_not_redo_it(sin_run, weights, tmp_path):
    """A restarted cluster controller may resubmit a shard whose first job still runs."""
    import threading

    from adain.files.locking import held_lock
    from adain.stages.settings import StylizeSettings
    from adain.stages.stylize_shard import stylize_shard

    out, config = sin_run
    target = tmp_path / "00000.h5"
    finished = out / "shards" / "val" / "val-00000.h5"

    def first_job():  # holds the shard's lock, then writes the shard
        with held_lock(target.with_name(target.name + ".lock")):
            ready.set()
            time.sleep(1.0)
            shutil.copy(finished, target)

    ready = threading.Event()
    thread = threading.Thread(target=first_job)
    thread.start()
    ready.wait()
    start = time.monotonic()
    result = stylize_shard(
        out / "manifest" / "val" / "00000.tsv",
        out / "paintings" / "stats.h5",
        config["content_dir"],
        *weights,
        target,
        StylizeSettings.defaults(preset="sin", device="cpu"),
    )
    thread.join()
    assert time.monotonic() - start >= 0.9  # it waited for the first job
    assert result["images"] == 6 and result["seconds"] == 0.0  # and found the shard written
    assert target.read_bytes() == finished.read_bytes()


def test_evaluation_rules_shape_bias_plot_and_accuracy_without_touching_the_shards(sin_run, tmp_path):
    """Classifiers evaluated on a cue-conflict set the workflow makes and on the run's val shards;
    adding the evaluation afterwards reruns no dataset job."""
    import csv

    import torchvision

    from tests.conftest import photo

    out, config = sin_run
    for folder, images in (
        ("shapes", {"cat/a.png": "chelsea", "clock/b.png": "coffee"}),
        ("textures", {"elephant/t.png": "hubble_deep_field", "cat/u.png": "coins"}),
    ):
        for name, source in images.items():
            (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
            photo(source, size=(50, 40)).save(tmp_path / folder / name)
    torch.manual_seed(0)
    torch.save(torchvision.models.squeezenet1_1().state_dict(), tmp_path / "squeezenet.pth")
    evaluation = {
        "evaluation": {
            "models": {
                "squeeze": {
                    "arch": "squeezenet1_1",
                    "weights": str(tmp_path / "squeezenet.pth"),
                    "topk": [0.5],
                    "topk_at": ["features.2"],
                }
            },
            "shapes": str(tmp_path / "shapes"),
            "textures": str(tmp_path / "textures"),
            "stimulus_size": 32,
            "accuracy_splits": ["val"],
            "batch_size": 4,
        }
    }
    (tmp_path / "evaluation.yaml").write_text(yaml.safe_dump(evaluation))
    shards = sorted((out / "shards").rglob("*.h5"))
    before = [s.stat().st_mtime_ns for s in shards]
    result = run_workflow(
        out.parent,
        configfiles=[tmp_path / "evaluation.yaml"],
        **config,
        output_dir=out,
        preset="sin",
        shard_size=8,
        **SIN_SETTINGS,
    )
    assert [s.stat().st_mtime_ns for s in shards] == before
    jobs = result.stdout + result.stderr
    assert "stylize_shard" not in jobs and "make_cue_conflict" in jobs
    stimuli = sorted(p.name for p in (out / "evaluation" / "cue-conflict").rglob("*.png"))
    assert stimuli == ["cat1-cat1.png", "cat1-elephant1.png", "clock1-cat1.png", "clock1-elephant1.png"]
    evaluated = out / "evaluation" / "shape_bias"
    assert sorted(p.name for p in (evaluated / "squeeze").glob("[!.]*")) == [
        "cue-conflict_squeeze-topK-50_session-1.csv",
        "cue-conflict_squeeze_session-1.csv",
        "squeeze-topK-50.json",
        "squeeze.json",
    ]
    summary = json.loads((evaluated / "squeeze" / "squeeze.json").read_text())
    assert (summary["result"]["trials"], summary["result"]["conflict_trials"]) == (4, 3)
    with open(evaluated / "squeeze" / "cue-conflict_squeeze_session-1.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["imagename"] for row in rows) == stimuli and {row["subj"] for row in rows} == {"squeeze"}
    table = (out / "evaluation" / "shape_bias.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in table] == ["model", "squeeze", "squeeze-topK-50"]
    assert (out / "evaluation" / "shape_bias.pdf").read_bytes().startswith(b"%PDF")
    accuracy = json.loads((out / "evaluation" / "accuracy" / "squeeze_val.json").read_text())
    assert accuracy["result"]["images"] == 6 and accuracy["split"] is None
    assert len((out / "evaluation" / "accuracy" / "squeeze_val.csv").read_text().splitlines()) == 7


def test_in_shards_line_up_with_sin_image_for_image(sin_run, tmp_path):
    """method none: the preset's preprocessing only (plain ImageNet), in the same shards and order."""
    out, config = sin_run
    run_workflow(
        tmp_path,
        **{**config, "vgg_weights": tmp_path / "none.pth", "style_dir": tmp_path / "none"},
        output_dir=tmp_path / "in",
        method="none",
        preset="sin",
        shard_size=8,
        **SIN_SETTINGS,
    )
    recipe = Preprocess("resize-crop", 256, 224)
    sin_shards = sorted((out / "shards").rglob("*.h5"))
    assert [s.relative_to(out) for s in sin_shards] == sorted(
        s.relative_to(tmp_path / "in") for s in (tmp_path / "in" / "shards").rglob("*.h5")
    )
    for shard in sin_shards:
        sin, plain = read_datasets(shard), read_datasets(tmp_path / "in" / shard.relative_to(out))
        for name in ("content", "labels", "wnid", "rejected_content"):
            np.testing.assert_array_equal(sin[name], plain[name])
        assert set(plain["style"]) == {b""}
        for content, pixels in zip(plain["content"], plain["images"]):
            expected = to_uint8_tensor(recipe(open_rgb(Path(config["content_dir"]) / content.decode())))
            np.testing.assert_array_equal(pixels, expected.permute(1, 2, 0).numpy())  # exactly the original pixels
        with h5py.File(tmp_path / "in" / shard.relative_to(out)) as handle:
            assert handle.attrs["method"] == "none"


def test_the_dataset_card_says_what_the_shards_hold(sin_run):
    out, config = sin_run
    card = (out / "README.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    with h5py.File(out / "shards" / "val" / "val-00000.h5") as handle:
        vgg = handle.attrs["vgg_sha256"]
    assert card.startswith("# Stylized-ImageNet, preset sin")
    assert "WARNING: random stand-in weights — not a real dataset" in card
    assert "| train | 14 | 14 | 13 | 1 | 3 |" in card and "| val | 6 | 6 | 6 | 0 | 3 |" in card
    assert "| styles per image | 1 " in card
    # the demo's 5 usable paintings for shards of 8: warned about on the console and in the card
    assert summary["paintings"] == 5 and "| paintings drawn from | 5 |" in card
    assert "> **Warning:** style_dir has 5 usable paintings for shards of 8 images" in card
    console = (out.parent / "console.txt").read_text()
    assert console.count("adain: warning: style_dir has 5 usable paintings for shards of 8 images") == 1
    assert (
        f"`{vgg}`" in card
        and f"`{summary['stylization_fingerprint']}`" in card
        and "| seed (painting draws) | 0 |" in card
    )
    assert "ShardDataset" in card and "ImageNet terms of access" in card and "Painter-by-Numbers" in card


def test_inspect_grid_shows_content_beside_stylized_from_the_run_alone(sin_run, tmp_path, capsys):
    """No --content-dir: the run's content and painting folders come from its summary.json; each
    sample is content | painting | stylized, each cell 224 px, two samples to a row, captioned."""
    from adain.cli.main import main

    out, config = sin_run
    assert main(["inspect", str(out), "--grid", str(tmp_path / "grid.png")]) == 0
    printed = capsys.readouterr().out
    assert f"contents from {Path(config['content_dir']).resolve()}" in printed
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB"))
    assert grid.shape[1] == 6 * 224 and grid.shape[0] % (224 + 12) == 14  # 2 x 3 cells, captions, the banner
    for column in range(6):  # content, painting and stylized of both samples are drawn, none left blank
        assert grid[14 + 10 : 14 + 214, column * 224 + 10 : column * 224 + 214].std() > 5, column


def test_one_speed_figure_in_status_summary_and_card_also_on_a_copy(sin_run, tmp_path):
    """Computed from what the shards record (adain.stages.speed), never file times: a `cp -r`
    copy (new times) says the same."""
    from adain.run.status import format_status, run_status

    out, _ = sin_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, copy_function=shutil.copy)  # as cp -r: every file gets a new time
    speed = json.loads((out / "summary.json").read_text())["images_per_second"]
    assert speed > 0 and json.loads((copy / "summary.json").read_text())["images_per_second"] == speed
    for folder in (out, copy):
        status = run_status(folder)
        assert round(status.images_per_second, 2) == speed
        assert f"speed: {status.images_per_second:.1f} images/s" in format_status(status)
    assert f"| speed | {speed:.1f} images/s" in (copy / "README.md").read_text()

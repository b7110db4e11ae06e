"""A run's state lives in its outputs: config changes between runs, with and without .snakemake/,
user files only read, damage found and repaired, readers and checks that compare fingerprints.

One module-scoped scenario runs the workflow a few times on a small tree (random weights in a
folder of their own, older than the checkout); the tests below each check one aspect of it.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from adain.core.weights import write_random_weights
from tests.workflow_utils import REPO, read_datasets, run_workflow

OLD = 1577836800  # 2020-01-01: weights downloaded long before the checkout
BAD_NAME = b"caf\xe9.JPEG"  # not valid UTF-8
TAB_NAME = "tab\tname.JPEG"


def _age(path: Path) -> None:
    os.utime(path, (OLD, OLD))


def _shards(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "shards").rglob("*.h5"))}


def _mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted((out / "shards").rglob("*.h5"))}


def _jobs(result: subprocess.CompletedProcess) -> set[str]:
    """The rules of the jobs a run started: each prints `Job <id>: <rule> ...` (its message)."""
    text = result.stdout + result.stderr
    return {line.split()[2].rstrip(":") for line in text.splitlines() if re.match(r"Job \d+: ", line)}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("reconcile")
    content = root / "imagenet"
    shutil.copytree(REPO / "demo" / "imagenet" / "val", content / "val")
    cat = content / "val" / "n02123045"
    source = next(iter(sorted(cat.iterdir()))).read_bytes()
    (cat / TAB_NAME).write_bytes(source)
    with open(os.fsencode(cat) + b"/" + BAD_NAME, "wb") as handle:
        handle.write(source)
    weights = root / "w"
    vgg, decoder = write_random_weights(weights)
    for path in (vgg, decoder, weights):
        _age(path)
    original = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (vgg, decoder)}
    work, out = root / "work", root / "work" / "out"
    base = dict(
        content_dir=content,
        style_dir=REPO / "demo" / "paintings",
        vgg_weights=vgg,
        decoder_weights=decoder,
        device="cpu",
        workers=0,
        splits="[val]",
        shard_size=4,
        output_dir=out,
    )
    seen: dict = {"weights": original, "out": out, "root": root}

    def weights_now():
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (vgg, decoder)}

    def run(label, *, forget=False, **changes):
        if forget:
            shutil.rmtree(work / ".snakemake", ignore_errors=True)
        before = weights_now()
        result = run_workflow(work, **{**base, **changes})
        seen[label] = {
            "jobs": _jobs(result),
            "shards": _shards(out),
            "mtimes": _mtimes(out),
            "summary": json.loads((out / "summary.json").read_text()),
            "weights_before": before,
            "weights_after": weights_now(),
            "locks": sorted(str(p) for p in out.rglob("*.lock")),
            "log": result.stdout + result.stderr,
        }

    run("clean")
    run("speed", forget=True, workers=2, checkpoint_images=2, checkpoint_seconds=1)
    run("packing", compression="gzip")
    dry = run_workflow(work, "-n", **{**base, "compression": "gzip", "alpha": 0.5})  # a dry run changes nothing
    seen["dry"] = {"log": dry.stdout + dry.stderr, "shards": _shards(out)}
    write_random_weights(weights, seed=1, force=True)  # swapped in place, with an old time
    for path in (vgg, decoder):
        _age(path)
    run("swapped")
    run("plan", shard_size=3)
    run("seed", shard_size=3, seed=1)
    for path, (data, _) in original.items():  # the original weights back
        path.write_bytes(data)
        _age(path)
    run("back", forget=True)
    return seen


def test_speed_settings_and_a_lost_snakemake_folder_redo_nothing(scenario):
    assert scenario["speed"]["jobs"] == set() and "Nothing to be done" in scenario["speed"]["log"]
    assert scenario["speed"]["mtimes"] == scenario["clean"]["mtimes"]


def test_packing_settings_repack_without_restylizing(scenario):
    packing = scenario["packing"]
    assert "stylize_shard" not in packing["jobs"] and {"validate_shard", "pack_shard"} <= packing["jobs"]
    # the speed figure still counts the stylizing that made the shards (their records travel along)
    speed = scenario["clean"]["summary"]["images_per_second"]
    assert speed > 0 and packing["summary"]["images_per_second"] == speed
    assert packing["summary"]["stylize_seconds"] == scenario["clean"]["summary"]["stylize_seconds"]
    out = scenario["out"]
    for name, data in scenario["clean"]["shards"].items():
        assert packing["shards"][name] != data  # rewritten with gzip ...
    first = scenario["root"] / "clean"
    for name in scenario["clean"]["shards"]:
        (first / name).parent.mkdir(parents=True, exist_ok=True)
        (first / name).write_bytes(scenario["clean"]["shards"][name])
    for name in scenario["back"]["shards"]:  # ... with the same images (checked on the final state)
        np.testing.assert_array_equal(read_datasets(first / name)["images"], read_datasets(out / name)["images"])


def test_a_dry_run_says_what_it_would_move_and_moves_nothing(scenario):
    assert "would move" in scenario["dry"]["log"] and scenario["dry"]["shards"] == scenario["packing"]["shards"]
    assert "(made with other settings or inputs: alpha 1.0 -> 0.5)" in scenario["dry"]["log"]  # named, old -> new


def test_swapped_weights_with_an_old_time_are_noticed(scenario):
    swapped = scenario["swapped"]
    assert {"compute_painting_stats", "stylize_shard"} <= swapped["jobs"]
    assert swapped["shards"].keys() == scenario["clean"]["shards"].keys()
    assert all(swapped["shards"][n] != scenario["clean"]["shards"][n] for n in swapped["shards"])
    assert "made with other settings or inputs: " in swapped["log"] and "weights_sha256.vgg " in swapped["log"]


def test_a_rebuild_names_the_setting_that_changed_old_and_new(scenario):
    assert "the manifests are out of date: shard_size 4 -> 3 changed" in scenario["plan"]["log"]
    seed = scenario["seed"]
    assert "the manifests are out of date: seed 0 -> 1 changed" in seed["log"]
    assert "out of the dataset (made with other settings or inputs: seed 0 -> 1)" in seed["log"]
    assert "seed 0 -> 1" in (scenario["out"] / "stale" / "stale.tsv").read_text()


def test_a_plan_change_moves_old_shards_out_and_readers_count_right(scenario):

    plan = scenario["plan"]
    assert sorted(plan["shards"]) == ["shards/val/val-00000.h5", "shards/val/val-00001.h5", "shards/val/val-00002.h5"]
    assert plan["summary"]["splits"]["val"]["packed"] == 7
    assert "shard file(s) to" in plan["log"] and "adain clean --stale" in plan["log"]  # said, with its size
    stale = (scenario["out"] / "stale" / "stale.tsv").read_text()
    assert stale.count("\n") >= 1 + 2 + 2  # header, the clean run's 2 shards, the swapped weights' 2


def test_the_final_config_gives_a_clean_runs_bytes_and_user_files_are_untouched(scenario):
    from adain.data import ShardDataset, ShardStream

    assert scenario["back"]["shards"] == scenario["clean"]["shards"]
    for label in ("clean", "speed", "packing", "swapped", "plan", "seed", "back"):
        assert scenario[label]["weights_after"] == scenario[label]["weights_before"], label
        assert scenario[label]["locks"] == [], label
    assert scenario["back"]["weights_after"] == scenario["weights"]
    out = scenario["out"]
    assert len(ShardDataset(out)) == 7 and len(ShardStream(out)) == 7  # only the listed shards, never stale/


def test_odd_names_are_data_and_the_summary_adds_up(scenario):
    from adain.data import ShardDataset

    summary = scenario["clean"]["summary"]
    val = summary["splits"]["val"]
    assert val["indexed"] == 8 == val["packed"] + val["rejected"] and val["rejected"] == 1
    rejects = (scenario["out"] / "rejects.tsv").read_text()
    assert "caf\\xe9.JPEG" in rejects and "not valid UTF-8" in rejects
    contents = {meta["content"] for _, _, meta in ShardDataset(scenario["out"], metadata=True)}
    assert f"val/n02123045/{TAB_NAME}" in contents


def test_random_stand_in_weights_are_said_everywhere(scenario, capsys):
    from adain.cli.main import main

    out = scenario["out"]
    assert scenario["clean"]["summary"]["warning"] == "random stand-in weights — not a real dataset"
    assert "WARNING: random stand-in weights" in (out / "README.md").read_text()
    with h5py.File(next((out / "shards").rglob("*.h5"))) as handle:
        assert handle.attrs["random_standin_weights"]
    assert main(["inspect", str(out)]) == 0
    assert "random stand-in weights" in capsys.readouterr().out
    assert main(["weights", "random", str(Path(scenario["root"]) / "w")]) == 2  # never overwritten silently
    assert "--force" in capsys.readouterr().err


def test_shards_of_two_fingerprints_are_refused_by_readers_and_checks(scenario, tmp_path):
    from adain.data import MixedShardsError, ShardDataset, ShardStream
    from adain.stages.summarize import FingerprintError, check_fingerprints, shard_record
    from adain.stages.validate_shard import ValidationError, validate_shard

    out = scenario["out"]
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    current = out / "shards" / "val" / "val-00001.h5"

    def dataset(path):
        with h5py.File(path) as handle:
            return handle.attrs["stylization_fingerprint"]

    other = next(p for p in sorted((out / "stale").rglob("*.h5")) if dataset(p) != dataset(current))  # swapped weights
    shutil.copy(other, mixed / "val-00000.h5")
    shutil.copy(current, mixed / "val-00001.h5")
    for reader in (ShardDataset, ShardStream):
        with pytest.raises(MixedShardsError, match="val-00000.h5") as error:
            reader(mixed)
        assert "val-00001.h5" in str(error.value)
    assert len(ShardDataset(mixed, allow_mixed=True)) > 0
    with pytest.raises(FingerprintError, match="val-00000.h5"):
        check_fingerprints([shard_record(p, mixed) for p in sorted(mixed.iterdir())])
    with pytest.raises(ValidationError, match="differs from the run's plan"):
        validate_shard(
            mixed / "val-00000.h5",
            out / "manifest" / "val" / "00000.tsv",
            tmp_path / "r.json",
            224,
            expected_fingerprint="0" * 64,
        )


def test_damage_is_found_and_repaired(scenario):
    """A deleted, a truncated and a bit-flipped shard; a second live run on the same output_dir."""
    from adain.cli.main import main
    from adain.files.locking import try_lock

    out, work = scenario["out"], scenario["out"].parent
    config = dict(
        content_dir=scenario["root"] / "imagenet",
        style_dir=REPO / "demo" / "paintings",
        vgg_weights=scenario["root"] / "w" / "vgg_normalised.pth",
        decoder_weights=scenario["root"] / "w" / "decoder.pth",
        device="cpu",
        workers=0,
        splits="[val]",
        shard_size=4,
        output_dir=out,
    )
    intact = _shards(out)
    assert main(["verify", str(out)]) == 0
    first, second = sorted((out / "shards").rglob("*.h5"))
    data = bytearray(second.read_bytes())  # flipped bits inside an image: only reading the images finds them
    with h5py.File(second) as handle:
        offset = handle["images"].id.get_offset()
    data[offset + 1234] ^= 0xFF
    second.write_bytes(bytes(data))
    assert main(["verify", str(out), "--repair"]) == 1
    assert not second.exists() and "damaged: 1 image(s) damaged" in (out / "stale" / "stale.tsv").read_text()
    first.write_bytes(intact["shards/val/val-00000.h5"][:5000])  # truncated
    assert main(["verify", str(out)]) == 1  # the missing and the truncated shard are named
    # a second run on the same output_dir, from another working directory, while one is live
    holder = try_lock(out / ".adain-run.lock")
    try:
        result = run_workflow(scenario["root"] / "other-clone", **config, check=False)
        assert result.returncode != 0 and "is in use by a live run" in result.stdout + result.stderr
    finally:
        holder.close()
    result = run_workflow(work, **config)
    assert "damaged: unreadable, truncated or incomplete" in result.stdout + result.stderr
    assert _shards(out) == intact and main(["verify", str(out)]) == 0
    # an output_dir copied without its validation reports: restored from the shards, nothing restylized
    shutil.rmtree(out / "validated")
    (out / "summary.json").unlink()
    result = run_workflow(work, **config)
    assert _jobs(result) == {"summarize", "all"} and _shards(out) == intact


def test_status_of_a_finished_run_with_stale_shards(scenario, capsys):
    from adain.cli.main import main

    assert main(["status", str(scenario["out"])]) == 0
    text = capsys.readouterr().out
    assert "2 of 2 shards done," in text and "0 to do" in text and "stale:" in text
    # the file the index could not use (a name that is not UTF-8) is a content reject here as in the summary
    from adain.stages.counts import RunCounts

    summary = json.loads((scenario["out"] / "summary.json").read_text())
    assert summary["counts"]["content_rejects"] >= 1 and summary["rejects_by_reason"]["content"]
    assert f"  {RunCounts.from_summary(summary).phrase()} (7 of 7 content images done)" in text
    assert f"`adain clean --stale {scenario['out']}` removes them" in text


def test_a_killed_shards_checkpoints_are_not_reused_for_another_content_tree(tmp_path, weights, monkeypatch):
    """Killed mid-shard with content_dir=a; then content_dir=b, same names, other pixels: nothing of a."""
    import adain.stages.stylize_shard as stylize_module
    from adain.stages.assign_styles import write_manifests
    from adain.stages.index_images import write_index
    from adain.stages.settings import StylizeSettings
    from adain.stages.stylize_shard import stylize_shard
    from tests.conftest import photo

    trees = {}
    for tree, source in (("a", "astronaut"), ("b", "coffee")):
        for i in range(4):
            path = tmp_path / tree / "val" / "n01" / f"img{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            photo(source, size=(40 + i, 36)).save(path)
        write_index(tmp_path / tree, ["val"], tmp_path / f"{tree}.tsv", tmp_path / f"{tree}-classes.tsv", ["png"])
        write_manifests(tmp_path / f"{tree}.tsv", None, 0, 8, tmp_path / f"manifest-{tree}")
        trees[tree] = tmp_path / f"manifest-{tree}" / "val" / "00000.tsv"
    # same relative paths, so the same rows but for the files' sizes and times
    assert trees["a"].read_text().split("\t")[:8] == trees["b"].read_text().split("\t")[:8]
    settings = StylizeSettings.defaults(
        preset="sin", device="cpu", batch_size=1, checkpoint_images=1, method="gaussian"
    )
    out = tmp_path / "stylized" / "00000.h5"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed before the shard was written")

    monkeypatch.setattr(stylize_module.ShardWriter, "close", killed)
    with pytest.raises(KeyboardInterrupt):
        stylize_shard(trees["a"], None, tmp_path / "a", None, None, out, settings)
    assert len(list(out.with_name("00000.h5.parts").glob("*.npz"))) == 4
    monkeypatch.undo()
    result = stylize_shard(trees["b"], None, tmp_path / "b", None, None, out, settings)
    assert result["images"] == 4 and not out.with_name("00000.h5.parts").exists()
    clean = tmp_path / "clean" / "00000.h5"
    stylize_shard(trees["b"], None, tmp_path / "b", None, None, clean, settings)
    np.testing.assert_array_equal(read_datasets(out)["images"], read_datasets(clean)["images"])


def test_a_shards_identity_change_is_named_key_by_key():
    from adain.run.reconcile import identity_changes

    recorded = {"alpha": 1.0, "numerics": {"device": "cpu", "threads": 2}, "weights_sha256": {"vgg": "a" * 64}}
    planned = {"alpha": 0.5, "numerics": {"device": "cpu", "threads": 4}, "weights_sha256": {"vgg": "b" * 64}}
    assert identity_changes(recorded, planned) == [
        "alpha 1.0 -> 0.5",
        "numerics.threads 2 -> 4",
        f"weights_sha256.vgg {'a' * 12}... -> {'b' * 12}...",
    ]
    assert identity_changes(planned, {**planned, "preserve_color": True}) == ["preserve_color null -> true"]

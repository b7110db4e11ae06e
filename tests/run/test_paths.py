"""The output folder's layout is defined once (adain.run.paths.RunPaths): the rules, the plan,
status and verify take their paths from it."""

import re
from pathlib import Path

from adain.run.paths import RunPaths
from adain.run.plan import Plan, shard_key
from adain.stages.settings import RunSettings, config_defaults
from tests.workflow_utils import REPO

FOLDERS = ("index", "paintings", "manifest", "stylized", "validated", "shards", "logs", "stale", "report")
SPELT = re.compile("[\"'](" + "|".join(FOLDERS) + ")[\"']|config\\[.output_dir.\\]")


def test_no_rule_spells_out_a_path_below_the_output_folder():
    spelt = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")) + [REPO / "Snakefile"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SPELT.search(line):
                spelt.append(f"{path.name}:{number}: {line.strip()}")
    assert not spelt, "\n".join(spelt)


def test_the_layout_keeps_the_names_existing_output_folders_have():
    paths = RunPaths("/r")
    assert paths.images_tsv == Path("/r/index/images.tsv")
    assert paths.painting_chunk("0003") == Path("/r/paintings/stats/0003.npz")
    assert paths.manifest("val", "00002") == Path("/r/manifest/val/00002.tsv")
    assert paths.staged("val", "00002") == Path("/r/stylized/val/00002.h5")
    assert paths.report("val", "00002") == Path("/r/validated/val/00002.json")
    assert paths.shard("val", "00002") == Path("/r/shards/val/val-00002.h5")
    assert paths.log("stylize_shard", "val", "00002") == Path("/r/logs/stylize_shard/val/00002.log")
    assert paths.log("summarize") == Path("/r/logs/summarize.log")
    assert [p.name for p in paths.summary_files] == [
        "summary.json",
        "rejects.tsv",
        "sample_grid.png",
        "README.md",
        "plots.png",
        "overview.rst",
        "card.html",
        "rejects.html",
    ]
    # wildcards pass through, so the rules and the plan name the same files
    assert str(paths.shard("{split}", "{shard}")) == "/r/shards/{split}/{split}-{shard}.h5"


def test_the_plan_names_final_shards_as_the_layout_and_the_reconciler_read_them(tmp_path):
    plan = Plan(RunSettings.from_config(config_defaults(output_dir=str(tmp_path))))
    assert plan.paths == RunPaths(tmp_path)
    final = plan.paths.shard("train", "00012")
    assert shard_key(plan.paths.shards_dir, final) == ("train", "00012")
    assert shard_key(plan.paths.shards_dir, final.with_name("train-12.h5")) is None

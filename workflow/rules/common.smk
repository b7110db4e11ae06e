# Workflow-side helpers: config validation, paths, input functions. No rules here.
#
# Whether an output is current is decided by adain.run.reconcile from the fingerprints recorded in the
# outputs themselves (docs/resume.md), never by Snakemake's metadata or file times: inputs of the
# expensive rules are ancient(), and params carry only what the run plans. Every job builds its
# settings from the config in one place (adain.stages.settings.RunSettings.from_config).
import os
import re
from pathlib import Path

import yaml
from snakemake.utils import validate

from adain.stages.paintings import read_painting_list
from adain.run.preflight import check_run, claim_output_dir, claim_workdir, command_line_booleans, ensure_weights
from adain.run.reconcile import Plan, Reconciler
from adain.stages.settings import RunSettings
from adain.evaluation.preflight import evaluation_problems

# --config compile=true arrives as the word "true": yes/no keys become booleans before validation
SCHEMA = Path(workflow.current_basedir, "..", "schemas", "config.schema.yaml")
config.update(command_line_booleans(config, yaml.safe_load(SCHEMA.read_text())))
validate(config, schema="../schemas/config.schema.yaml")

# Job scripts import the adain package of this checkout, also inside a --sdm conda environment.
# (Written, not required, so no envvars directive.)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in [workflow.basedir, os.environ.get("PYTHONPATH", "")] if p))

if workflow.is_main_process:
    # Fail in seconds on wrong inputs, weights or output folder; and take over this folder,
    # clearing Snakemake locks left by a killed run (never those of a live one).
    check_run(config, evaluation_problems(config))
    RUN_LOCK = claim_workdir()

OUT = Path(config["output_dir"])
METHOD = config["method"]
ADAIN = METHOD == "adain"
STYLIZE_GPUS = 0 if config["device"] == "cpu" else 1
EVALUATION = config["evaluation"]
PLAN = Plan(RunSettings.from_config(config))
RUN = {}  # this run's reconciler and output-folder lock (main process only)


wildcard_constraints:
    split="[^/]+",
    shard="[0-9]{5}",
    chunk="[0-9]{4}",
    model="|".join(map(re.escape, config["evaluation"]["models"])) or "$^",


def out(*parts):
    """A path below output_dir."""
    return str(OUT.joinpath(*parts))


def reconciled():
    """Once per run, in the main process, before Snakemake looks at any file: claim output_dir (one
    live run per folder), download missing weights, and reconcile output_dir with the plan
    (adain.run.reconcile); the shards too when the manifests are current."""
    if "reconciler" not in RUN and workflow.is_main_process:
        if not workflow.dryrun:
            RUN["lock"] = claim_output_dir(OUT)
            ensure_weights(config)
        RUN["reconciler"] = Reconciler(PLAN, dry_run=workflow.dryrun)
        if RUN["reconciler"].before_run():  # the manifests are current: the shards can be checked now
            RUN["reconciler"].check_shards()
    return RUN.get("reconciler")


def get_weights(wildcards):
    """The AdaIN weight files (the user's; read only); none for the texture-suppression filters. A
    dry run before their download leaves them out (the real run downloads them when it starts)."""
    if not ADAIN:
        return {}
    weights = {"vgg": config["vgg_weights"], "decoder": config["decoder_weights"]}
    return {k: ancient(v) for k, v in weights.items() if not workflow.dryrun or Path(v).exists()}


def get_painting_stats(wildcards):
    """The merged painting statistics; none for the texture-suppression filters."""
    return [ancient(out("paintings", "stats.h5"))] if ADAIN else []


def get_painting_rejects(wildcards):
    if not ADAIN:
        return []
    return [out("paintings", "rejected_prepare.tsv"), out("paintings", "rejected_decode.tsv")]


def get_painting_chunks(wildcards):
    """The statistics chunk files, once prepare_paintings has listed the paintings."""
    accepted = checkpoints.prepare_paintings.get().output.accepted
    if reconciled():
        RUN["reconciler"].check_chunks()
    count = len(read_painting_list(accepted))
    chunks = (count + config["paintings_per_job"] - 1) // config["paintings_per_job"]
    return [ancient(out("paintings", "stats", f"{c:04d}.npz")) for c in range(chunks)]


def _shards():
    """(split, shard, images) of the manifest, reconciled with output_dir once the manifest is made."""
    reconciled()  # first: it may remove stale manifests (targets other than `all`)
    checkpoints.assign_styles.get()
    if RUN.get("reconciler") and not RUN["reconciler"].shards_checked:
        RUN["reconciler"].check_shards()
        workflow.iocache.clear()  # files were moved after Snakemake first looked
    if RUN.get("reconciler") and not workflow.dryrun and "plan" not in RUN:
        RUN["plan"] = PLAN.write_identity()  # for jobs on other machines (see get_planned_identity)
    return PLAN.shards


def get_planned_identity(wildcards):
    """What decides a shard's bytes (besides its manifest): the stylize job checks it is making this.
    A job on another machine (Slurm) takes the controller's plan, not one made on its own node."""
    if not workflow.is_main_process:
        return PLAN.read_identity()
    return PLAN.identity


def get_planned_fingerprint(wildcards):
    return PLAN.shard_fingerprint(wildcards.split, wildcards.shard)


def get_planned_fingerprints(wildcards):
    _shards()
    return PLAN.expected_files()


def get_packed_shards(wildcards):
    return [out("shards", split, f"{split}-{shard}.h5") for split, shard, _ in _shards()]


def get_shard_reports(wildcards):
    return [out("validated", split, f"{shard}.json") for split, shard, _ in _shards()]


def get_split_shards(wildcards):
    return [out("shards", split, f"{split}-{shard}.h5") for split, shard, _ in _shards() if split == wildcards.split]


def get_classifier_weights(wildcards):
    """A model's weight file as an input; none for torchvision:<NAME> or a URL (fetched by the job)."""
    from adain.evaluation.classifier import is_remote

    weights = EVALUATION["models"][wildcards.model]["weights"]
    return {} if is_remote(weights) else {"weights": ancient(weights)}


def get_stimuli():
    """The configured cue-conflict folder, or the one make_cue_conflict builds; None if neither."""
    if EVALUATION["stimuli"]:
        return EVALUATION["stimuli"]
    if EVALUATION["shapes"] and EVALUATION["textures"]:
        return out("evaluation", "cue-conflict")
    return None


def get_evaluation_targets():
    models = list(EVALUATION["models"])
    if not models:
        return []
    targets = [out("evaluation", "shape_bias.pdf"), out("evaluation", "shape_bias.tsv")] if get_stimuli() else []
    return targets + [
        out("evaluation", "accuracy", f"{model}_{split}.json")
        for model in models
        for split in EVALUATION["accuracy_splits"]
    ]


def get_final_targets(wildcards):
    reconciled()
    return [
        out("summary.json"),
        out("rejects.tsv"),
        out("report", "sample_grid.png"),
        out("README.md"),
        *get_evaluation_targets(),
    ]

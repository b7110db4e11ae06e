# Workflow-side declarations: config validation, constants, pure input functions. No rules here.
#
# The Snakefile layer declares; it does not act. Everything with an effect is one call into adain,
# adain.run.start: start_run() while this file is read (PYTHONPATH for the job scripts; in the main
# process the preflight checks and the working directory's lock), and RUN.reconcile() once, when
# Snakemake first asks for the targets (only then is a dry run known): claim output_dir, fetch
# missing weights, reconcile output_dir with the plan. Whether an output is current is decided from
# the fingerprints recorded in the outputs themselves (docs/resume.md), never by Snakemake's
# metadata or file times: inputs of the expensive rules are ancient(). Every job builds its settings
# from the config in one place (adain.stages.settings.RunSettings.from_config); every path below
# output_dir comes from one layout (adain.run.paths.RunPaths).
from pathlib import Path
import re

import yaml
from snakemake.utils import validate

from adain.evaluation.preflight import evaluation_problems
from adain.run.config_check import check_config
from adain.run.preflight import command_line_booleans
from adain.run.start import start_run
from adain.stages.assign_styles import read_shard_list
from adain.stages.paintings import read_painting_list
from adain.stages.settings import output_folders

# --config compile=true arrives as the word "true": yes/no keys become booleans before validation
SCHEMA = yaml.safe_load(Path(workflow.current_basedir, "..", "schemas", "config.schema.yaml").read_text())
config.update(command_line_booleans(config, SCHEMA))
check_config(config, SCHEMA)  # a wrong key in a few lines (nearest valid key), not the whole schema
validate(config, schema="../schemas/config.schema.yaml")

MAIN = workflow.is_main_process  # Snakemake's own process, not a job's (Slurm jobs read this file too)
# output_dir: s3://... is kept through Snakemake's S3 storage plugin (--storage-s3-*; docs/storage.md)
S3 = storage.register_storage(provider="s3") if MAIN and output_folders(config)[1] else None
RUN = start_run(config, workflow.basedir, MAIN, evaluation_problems(config) if MAIN else (), S3)
PATHS = RUN.paths
PLAN = RUN.plan
ADAIN = config["method"] == "adain"
STYLIZE_GPUS = 0 if config["device"] == "cpu" else 1
EVALUATION = config["evaluation"]


wildcard_constraints:
    split="[^/]+",
    shard="[0-9]{5}",
    chunk="[0-9]{4}",
    model="|".join(map(re.escape, config["evaluation"]["models"])) or "$^",


def reconciled():
    """Reconcile output_dir with the plan once, before Snakemake looks at any output (the one
    effect of an input function: adain.run.start.RunStart.reconcile; a no-op after the first)."""
    RUN.reconcile(dry_run=workflow.dryrun)


def get_weights(wildcards):
    """The AdaIN weight files (the user's; read only); none for the texture-suppression filters. A
    dry run before their download leaves them out (the real run downloads them when it starts)."""
    if not ADAIN:
        return {}
    weights = {"vgg": config["vgg_weights"], "decoder": config["decoder_weights"]}
    return {k: ancient(v) for k, v in weights.items() if not workflow.dryrun or Path(v).exists()}


def get_painting_stats(wildcards):
    """The merged painting statistics; none for the texture-suppression filters."""
    return [ancient(PATHS.painting_stats)] if ADAIN else []


def get_painting_rejects(wildcards):
    return [PATHS.paintings_rejected_prepare, PATHS.paintings_rejected_decode] if ADAIN else []


def get_painting_chunks(wildcards):
    """The statistics chunk files, once prepare_paintings has listed the paintings (and removed the
    chunks of another list)."""
    accepted = checkpoints.prepare_paintings.get().output.accepted
    count, per_job = len(read_painting_list(accepted)), config["paintings_per_job"]
    return [ancient(PATHS.painting_chunk(f"{c:04d}")) for c in range((count + per_job - 1) // per_job)]


def _shards():
    """(split, shard, images) of the manifest, once assign_styles has made it (and reconciled the
    shards with it)."""
    reconciled()  # first: it may remove stale manifests (targets other than `all`)
    checkpoints.assign_styles.get()
    return read_shard_list(PATHS.shards_tsv)


def get_planned_identity(wildcards):
    """What decides a shard's bytes (besides its manifest): the stylize job checks it is making this.
    Recorded by the controller (assign_styles), so a job on another machine (Slurm) takes its plan."""
    return PLAN.read_identity()


def get_planned_fingerprint(wildcards):
    return PLAN.shard_fingerprint(wildcards.split, wildcards.shard)


def get_planned_fingerprints(wildcards):
    _shards()
    return PLAN.expected_files()


def get_packed_shards(wildcards):
    return [PATHS.shard(split, shard) for split, shard, _ in _shards()]


def get_shard_reports(wildcards):
    return [PATHS.report(split, shard) for split, shard, _ in _shards()]


def get_split_shards(wildcards):
    return [PATHS.shard(split, shard) for split, shard, _ in _shards() if split == wildcards.split]


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
        return PATHS.evaluation("cue-conflict")
    return None


def get_evaluation_targets():
    models = list(EVALUATION["models"])
    if not models:
        return []
    targets = [PATHS.evaluation("shape_bias.pdf"), PATHS.evaluation("shape_bias.tsv")] if get_stimuli() else []
    targets += get_analysis_targets(models)
    return targets + [
        PATHS.evaluation("accuracy", f"{model}_{split}.json")
        for model in models
        for split in EVALUATION["accuracy_splits"]
    ]


def get_synthesis_images(wildcards):
    return EVALUATION["synthesis"]["images"]


def get_synthesis_targets():
    """The pictures of synthesize_topk while evaluation.synthesis.images is set."""
    return [PATHS.evaluation("synthesis")] if EVALUATION["synthesis"]["images"] else []


def get_analysis_targets(models):
    """The representation analyses' outputs: each runs only when its setting is given."""
    dimensions, decodability = EVALUATION["dimensions"], EVALUATION["decodability"]
    targets = [PATHS.evaluation("dimensions.pdf")] if dimensions["split"] or dimensions["svoc"] else []
    targets += [PATHS.evaluation("decodability.pdf")] if decodability["enabled"] and get_stimuli() else []
    if EVALUATION["refined_bias"]["data"]:
        targets += [PATHS.evaluation("refined_bias", f"{model}.json") for model in models]
    return targets


def get_dimension_images(wildcards):
    """The images of the dimension estimate: the configured Stylized-VOC folder, or this run's shards
    of the configured split."""
    dimensions = EVALUATION["dimensions"]
    if dimensions["svoc"]:
        return [dimensions["svoc"]]
    return [PATHS.shard(split, shard) for split, shard, _ in _shards() if split == dimensions["split"]]


def get_final_targets(wildcards):
    reconciled()
    return [*PATHS.summary_files, *get_evaluation_targets(), *get_synthesis_targets()]

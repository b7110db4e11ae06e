# Workflow-side helpers: config validation, paths, input functions. No rules here.
import os
import re
from pathlib import Path

from snakemake.utils import validate

from adain.jobs import config_hash
from adain.preflight import check_run, claim_workdir


validate(config, schema="../schemas/config.schema.yaml")

# Job scripts import the adain package of this checkout, also inside a --sdm conda environment.
# (Written, not required, so no envvars directive.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in [workflow.basedir, os.environ.get("PYTHONPATH", "")] if p)
)

if workflow.is_main_process:
    # Fail in seconds on wrong inputs, weights or output folder; and take over this folder,
    # clearing Snakemake locks left by a killed run (never those of a live one).
    check_run(config)
    RUN_LOCK = claim_workdir()

OUT = Path(config["output_dir"])
METHOD = config["method"]
ADAIN = METHOD == "adain"
PRESET = {"name": str(config["preset"]), "stylize_size_64": config["stylize_size_64"]}
STYLIZE_GPUS = 0 if config["device"] == "cpu" else 1
EVALUATION = config["evaluation"]


wildcard_constraints:
    split="[^/]+",
    shard="[0-9]{5}",
    chunk="[0-9]{4}",
    model="|".join(map(re.escape, config["evaluation"]["models"])) or "$^",


def out(*parts):
    """A path below output_dir."""
    return str(OUT.joinpath(*parts))


def get_cache_dir():
    return config["cache_dir"] or out("cache")


def get_stylize_settings():
    """Settings of stylize_shard that decide the pixels (see adain.stylize_shard)."""
    keys = ["alpha", "device", "dtype", "batch_size", "workers", "max_pixels", "jpeg_quality",
            "checkpoint_images", "checkpoint_seconds"]
    settings = {key: config[key] for key in keys}
    settings["codec"] = config["full_codec"]
    settings["method"] = METHOD
    settings["method_params"] = {} if ADAIN else config[METHOD]
    return settings


def get_shard_attrs(wildcards):
    """Provenance attributes stored on every shard."""
    return {"seed": config["seed"], "config_hash": config_hash(config),
            "split": wildcards.split, "shard": int(wildcards.shard)}


def get_weights(wildcards):
    """The AdaIN weight files; none for the texture-suppression filters."""
    return {"vgg": config["vgg_weights"], "decoder": config["decoder_weights"]} if ADAIN else {}


def get_painting_stats(wildcards):
    """The merged painting statistics; none for the texture-suppression filters."""
    return [out("paintings", "stats.h5")] if ADAIN else []


def get_painting_rejects(wildcards):
    if not ADAIN:
        return []
    return [out("paintings", "rejected_prepare.tsv"), out("paintings", "rejected_decode.tsv")]


def get_painting_chunks(wildcards):
    """The statistics chunk files, once prepare_paintings has listed the paintings."""
    accepted = checkpoints.prepare_paintings.get().output.accepted
    with open(accepted) as handle:
        count = sum(1 for _ in handle) - 1
    chunks = (count + config["paintings_per_job"] - 1) // config["paintings_per_job"]
    return [out("paintings", "stats", f"{c:04d}.npz") for c in range(chunks)]


def _shards():
    from adain.manifest import read_shard_list

    manifests = checkpoints.assign_styles.get().output.manifests
    return read_shard_list(Path(manifests) / "shards.tsv")


def get_packed_shards(wildcards):
    return [out("shards", split, f"{split}-{shard}.h5") for split, shard, _ in _shards()]


def get_shard_reports(wildcards):
    return [out("validated", split, f"{shard}.json") for split, shard, _ in _shards()]


def get_split_shards(wildcards):
    return [out("shards", split, f"{split}-{shard}.h5") for split, shard, _ in _shards() if split == wildcards.split]


def get_classifier_weights(wildcards):
    """A model's weight file as an input; none for torchvision:<NAME> or a URL (fetched by the job)."""
    from adain.classifier import is_remote

    weights = EVALUATION["models"][wildcards.model]["weights"]
    return {} if is_remote(weights) else {"weights": weights}


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
    return targets + [out("evaluation", "accuracy", f"{model}_{split}.json")
                      for model in models for split in EVALUATION["accuracy_splits"]]


def get_final_targets():
    return [out("summary.json"), out("rejects.tsv"), out("report", "sample_grid.png"), *get_evaluation_targets()]

# Stylized-ImageNet and related datasets: index -> paintings -> manifest -> stylize -> validate -> pack
# (-> optional evaluation of classifiers: shape bias, accuracy).
# Run: snakemake --cores N   (config.yaml documents every setting; see README.md)
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# the checkout's config.yaml, also when run from another folder (snakemake -s <checkout>/Snakefile)
configfile: Path(workflow.basedir) / "config.yaml"


# the landing page of `snakemake --report report.html`: what the run built, and where to look
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/paintings.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/shards.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/evaluation.smk"


onsuccess:
    RUN.finish(succeeded=True)


onerror:
    RUN.finish()


rule all:
    default_target: True
    input:
        get_final_targets,
    message:
        "all: every target is made"

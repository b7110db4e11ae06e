from adain.evaluation.jobs import accuracy_job, logged
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    accuracy_job(
        EvaluationSettings.from_config(snakemake.config),
        name=snakemake.wildcards.model,
        shards=snakemake.input.shards,
        out_json=snakemake.output.summary,
    )

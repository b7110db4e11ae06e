from adain.evaluation.jobs import dimensions_job, logged
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    dimensions_job(
        EvaluationSettings.from_config(snakemake.config),
        name=snakemake.wildcards.model,
        images=snakemake.input.images,
        out_json=snakemake.output.summary,
        out_csv=snakemake.output.table,
    )

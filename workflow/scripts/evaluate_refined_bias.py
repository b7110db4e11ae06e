from adain.evaluation.jobs import logged, refined_bias_job
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    refined_bias_job(
        EvaluationSettings.from_config(snakemake.config),
        name=snakemake.wildcards.model,
        data=snakemake.input.data,
        out_json=snakemake.output.summary,
    )

from adain.evaluation.jobs import logged, shape_bias_job
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    shape_bias_job(
        EvaluationSettings.from_config(snakemake.config),
        name=snakemake.wildcards.model,
        stimuli=snakemake.input.stimuli,
        out_dir=snakemake.output.results,
    )

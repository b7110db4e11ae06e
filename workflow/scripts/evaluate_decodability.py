from adain.evaluation.jobs import decodability_job, logged
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    decodability_job(
        EvaluationSettings.from_config(snakemake.config),
        name=snakemake.wildcards.model,
        stimuli=snakemake.input.stimuli,
        out_json=snakemake.output.summary,
        out_csv=snakemake.output.table,
    )

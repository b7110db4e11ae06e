from adain.run.jobs import logged, prepare_paintings_job
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    prepare_paintings_job(
        RunSettings.from_config(snakemake.config),
        accepted_tsv=snakemake.output.accepted,
        rejected_tsv=snakemake.output.rejected,
    )

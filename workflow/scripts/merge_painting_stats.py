from adain.run.jobs import logged, merge_painting_stats_job
from adain.run.reconcile import Plan
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    merge_painting_stats_job(
        Plan(RunSettings.from_config(snakemake.config)),
        chunks=snakemake.input.chunks,
        rejected_tsv=snakemake.output.rejected,
        out_h5=snakemake.output.stats,
        accepted_tsv=snakemake.input.accepted,
    )

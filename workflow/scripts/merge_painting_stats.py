from adain.jobs import logged, merge_painting_stats_job
from adain.reconcile import Plan

with logged(snakemake.log[0]):
    merge_painting_stats_job(
        snakemake.input.chunks, snakemake.output.rejected, snakemake.output.stats, Plan(snakemake.config),
        snakemake.input.accepted,
    )

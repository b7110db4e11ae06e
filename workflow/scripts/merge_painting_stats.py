from adain.jobs import logged, merge_painting_stats_job

with logged(snakemake.log[0]):
    merge_painting_stats_job(
        snakemake.input.chunks, snakemake.output.rejected, snakemake.output.stats, snakemake.params.preset
    )

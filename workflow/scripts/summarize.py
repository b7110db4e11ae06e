from adain.jobs import logged, summarize_job

with logged(snakemake.log[0]):
    summarize_job(
        snakemake.input.images, snakemake.input.painting_rejects, snakemake.input.reports, snakemake.input.shards,
        snakemake.input.notes, snakemake.output.summary, snakemake.output.rejects, snakemake.output.grid,
        snakemake.params.content_dir, snakemake.params.preset,
    )

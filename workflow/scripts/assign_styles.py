from adain.jobs import assign_styles_job, logged

with logged(snakemake.log[0]):
    assign_styles_job(
        snakemake.input.images, snakemake.input.stats, snakemake.params.seed, snakemake.params.shard_size,
        snakemake.output.manifests, snakemake.params.order,
        snakemake.params.styles_per_image,
    )

from adain.jobs import logged, painting_stats_job

with logged(snakemake.log[0]):
    painting_stats_job(
        snakemake.params.style_dir, snakemake.input.accepted, int(snakemake.wildcards.chunk),
        snakemake.params.chunk_size, snakemake.input.vgg, snakemake.input.decoder, snakemake.params.preset,
        snakemake.params.cache_dir, snakemake.output.stats, snakemake.params.device,
        snakemake.params.batch_size, snakemake.params.workers, snakemake.params.max_pixels,
    )

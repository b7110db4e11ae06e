from adain.jobs import logged, stylize_shard_job

with logged(snakemake.log[0]):
    stylize_shard_job(
        snakemake.input.manifest, snakemake.input.stats, snakemake.params.content_dir,
        snakemake.input.get("vgg"), snakemake.input.get("decoder"), snakemake.params.preset, snakemake.output.shard, snakemake.params.settings,
        snakemake.params.attrs, snakemake.threads,
    )

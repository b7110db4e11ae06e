from adain.jobs import logged, validate_shard_job

with logged(snakemake.log[0]):
    validate_shard_job(
        snakemake.input.shard, snakemake.input.manifest, snakemake.output.report, snakemake.params.preset,
        snakemake.params.content_dir,
    )

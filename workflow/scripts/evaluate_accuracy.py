from adain.jobs import logged, accuracy_job

with logged(snakemake.log[0]):
    accuracy_job(
        dict(snakemake.params.model), snakemake.input.shards, snakemake.output.summary, snakemake.params.size,
        snakemake.params.aggregation, snakemake.params.device, snakemake.params.batch_size, snakemake.params.workers,
    )

from adain.jobs import logged, shape_bias_job

with logged(snakemake.log[0]):
    shape_bias_job(
        snakemake.wildcards.model, dict(snakemake.params.model), snakemake.input.stimuli, snakemake.output.results,
        snakemake.params.aggregation, snakemake.params.device, snakemake.params.batch_size, snakemake.params.workers,
    )

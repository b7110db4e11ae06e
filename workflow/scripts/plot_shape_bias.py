from adain.jobs import logged, plot_shape_bias_job

with logged(snakemake.log[0]):
    plot_shape_bias_job(snakemake.input.results, snakemake.output.figure, snakemake.output.table)

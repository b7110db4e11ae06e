from adain.evaluation.jobs import logged, plot_dimensions_job

with logged(snakemake.log[0]):
    plot_dimensions_job(summaries=snakemake.input.summaries, figure=snakemake.output.figure)

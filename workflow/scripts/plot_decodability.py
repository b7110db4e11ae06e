from adain.evaluation.jobs import logged, plot_decodability_job

with logged(snakemake.log[0]):
    plot_decodability_job(summaries=snakemake.input.summaries, figure=snakemake.output.figure)

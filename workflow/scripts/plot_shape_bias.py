from adain.evaluation.jobs import logged, plot_shape_bias_job

with logged(snakemake.log[0]):
    plot_shape_bias_job(
        model_dirs=snakemake.input.results, figure=snakemake.output.figure, table_tsv=snakemake.output.table
    )

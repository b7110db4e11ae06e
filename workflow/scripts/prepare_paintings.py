from adain.jobs import logged, prepare_paintings_job

with logged(snakemake.log[0]):
    prepare_paintings_job(
        snakemake.params.style_dir, snakemake.params.extensions, snakemake.params.min_side,
        snakemake.params.max_pixels, snakemake.output.accepted, snakemake.output.rejected,
    )

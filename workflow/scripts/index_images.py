from adain.jobs import index_job, logged

with logged(snakemake.log[0]):
    index_job(
        snakemake.params.content_dir, snakemake.params.splits, snakemake.params.extensions,
        snakemake.params.val_labels, snakemake.params.class_index,
        snakemake.output.images, snakemake.output.classes, snakemake.output.notes, snakemake.output.rejected,
    )

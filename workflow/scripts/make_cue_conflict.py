from adain.jobs import logged, make_cue_conflict_job

with logged(snakemake.log[0]):
    make_cue_conflict_job(
        snakemake.params.shapes, snakemake.params.textures, snakemake.output.stimuli, snakemake.input.vgg,
        snakemake.input.decoder, snakemake.params.size, snakemake.params.device, snakemake.params.batch_size,
        snakemake.params.workers,
    )

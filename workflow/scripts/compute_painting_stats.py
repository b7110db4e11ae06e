from adain.run.jobs import logged, painting_stats_job
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    painting_stats_job(
        RunSettings.from_config(snakemake.config),
        chunk=int(snakemake.wildcards.chunk),
        accepted_tsv=snakemake.input.accepted,
        vgg=snakemake.input.vgg,
        decoder=snakemake.input.decoder,
        out_npz=snakemake.output.stats,
    )

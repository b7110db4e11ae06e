from adain.jobs import logged, painting_stats_job
from adain.settings import StylizeSettings

with logged(snakemake.log[0]):
    painting_stats_job(
        snakemake.params.style_dir, snakemake.input.accepted, int(snakemake.wildcards.chunk),
        snakemake.params.chunk_size, snakemake.input.vgg, snakemake.input.decoder,
        StylizeSettings.from_config(snakemake.config), snakemake.params.cache_dir, snakemake.output.stats,
    )

from adain.jobs import logged, summarize_job
from adain.settings import StylizeSettings

with logged(snakemake.log[0]):
    summarize_job(
        snakemake.input.images, snakemake.input.painting_rejects, snakemake.input.reports, snakemake.input.shards,
        snakemake.input.notes, snakemake.input.index_rejects, snakemake.output.summary, snakemake.output.rejects,
        snakemake.output.grid, snakemake.config["content_dir"], StylizeSettings.from_config(snakemake.config),
        snakemake.params.expected, snakemake.config["output_dir"], snakemake.output.card, dict(snakemake.config),
    )

from adain.run.jobs import assign_styles_job, logged
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    assign_styles_job(
        RunSettings.from_config(snakemake.config),
        images_tsv=snakemake.input.images,
        stats_h5=snakemake.input.stats,
        out_dir=snakemake.output.manifests,
    )

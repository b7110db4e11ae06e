from adain.run.jobs import index_job, logged
from adain.stages.settings import IndexSettings

with logged(snakemake.log[0]):
    index_job(
        IndexSettings.from_config(snakemake.config),
        images_tsv=snakemake.output.images,
        classes_tsv=snakemake.output.classes,
        notes_txt=snakemake.output.notes,
        rejected_tsv=snakemake.output.rejected,
    )

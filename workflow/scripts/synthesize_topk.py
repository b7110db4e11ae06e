from adain.evaluation.jobs import logged, synthesize_topk_job
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    synthesize_topk_job(
        EvaluationSettings.from_config(snakemake.config),
        images=snakemake.input.images,
        vgg=snakemake.input.vgg,
        out_dir=snakemake.output.pictures,
    )

from adain.evaluation.jobs import logged, make_cue_conflict_job
from adain.evaluation.settings import EvaluationSettings

with logged(snakemake.log[0]):
    make_cue_conflict_job(
        EvaluationSettings.from_config(snakemake.config),
        vgg=snakemake.input.vgg,
        decoder=snakemake.input.decoder,
        out_dir=snakemake.output.stimuli,
    )

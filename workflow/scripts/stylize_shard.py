from adain.run.jobs import logged, stylize_shard_job
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    stylize_shard_job(
        RunSettings.from_config(snakemake.config),
        manifest=snakemake.input.manifest,
        stats_h5=snakemake.input.stats,
        vgg=snakemake.input.get("vgg"),
        decoder=snakemake.input.get("decoder"),
        out_h5=snakemake.output.shard,
        attrs={
            "split": snakemake.wildcards.split,
            "shard": int(snakemake.wildcards.shard),
        },
        expected_identity=snakemake.params.identity,
    )

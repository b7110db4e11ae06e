from adain.jobs import logged, validate_shard_job
from adain.settings import StylizeSettings

with logged(snakemake.log[0]):
    validate_shard_job(
        snakemake.input.shard, snakemake.input.manifest, snakemake.output.report,
        StylizeSettings.from_config(snakemake.config), snakemake.config["content_dir"], snakemake.params.fingerprint,
    )

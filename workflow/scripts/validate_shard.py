from adain.run.jobs import logged, validate_shard_job
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    validate_shard_job(
        RunSettings.from_config(snakemake.config),
        shard_h5=snakemake.input.shard,
        manifest=snakemake.input.manifest,
        report_json=snakemake.output.report,
        expected_fingerprint=snakemake.params.fingerprint,
    )

from adain.run.jobs import logged, pack_shard_job
from adain.stages.settings import PackSettings

with logged(snakemake.log[0]):
    pack_shard_job(
        PackSettings.from_config(snakemake.config),
        staging_h5=snakemake.input.shard,
        report_json=snakemake.input.report,
        out_h5=snakemake.output.shard,
    )

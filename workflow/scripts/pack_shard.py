from adain.jobs import logged, pack_shard_job

with logged(snakemake.log[0]):
    pack_shard_job(snakemake.input.shard, snakemake.input.report, snakemake.output.shard, snakemake.params.compression)

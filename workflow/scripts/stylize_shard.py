from adain.jobs import logged, stylize_shard_job
from adain.settings import StylizeSettings

with logged(snakemake.log[0]):
    stylize_shard_job(
        snakemake.input.manifest, snakemake.input.stats, snakemake.input.get("vgg"), snakemake.input.get("decoder"),
        snakemake.output.shard, StylizeSettings.from_config(snakemake.config),
        content_dir=snakemake.config["content_dir"], output_dir=snakemake.config["output_dir"],
        attrs={"seed": snakemake.config["seed"], "split": snakemake.wildcards.split, "shard": int(snakemake.wildcards.shard)},
        expected_identity=snakemake.params.identity, style_dir=snakemake.config["style_dir"],
    )

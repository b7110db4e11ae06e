rule stylize_shard:
    input:
        unpack(get_weights),
        manifest=out("manifest", "{split}", "{shard}.tsv"),
        stats=get_painting_stats,
    output:
        shard=temp(out("stylized", "{split}", "{shard}.h5")),
    params:
        content_dir=config["content_dir"],
        preset=PRESET,
        settings=get_stylize_settings(),
        attrs=get_shard_attrs,
    log:
        out("logs", "stylize_shard", "{split}", "{shard}.log"),
    threads: 2
    resources:
        mem_mb=12000,
        gpu=STYLIZE_GPUS,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/stylize_shard.py"


rule validate_shard:
    input:
        shard=out("stylized", "{split}", "{shard}.h5"),
        manifest=out("manifest", "{split}", "{shard}.tsv"),
    output:
        report=out("validated", "{split}", "{shard}.json"),
    params:
        preset=PRESET,
        content_dir=config["content_dir"],
    log:
        out("logs", "validate_shard", "{split}", "{shard}.log"),
    resources:
        mem_mb=4000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/validate_shard.py"


rule pack_shard:
    input:
        shard=out("stylized", "{split}", "{shard}.h5"),
        report=out("validated", "{split}", "{shard}.json"),
    output:
        shard=out("shards", "{split}", "{split}-{shard}.h5"),
    params:
        compression=config["compression"],
        chunk_images=1,
    log:
        out("logs", "pack_shard", "{split}", "{shard}.log"),
    resources:
        mem_mb=4000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/pack_shard.py"

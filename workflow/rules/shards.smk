rule stylize_shard:
    input:
        unpack(get_weights),
        manifest=ancient(out("manifest", "{split}", "{shard}.tsv")),
        stats=get_painting_stats,
    output:
        shard=temp(out("stylized", "{split}", "{shard}.h5")),
    log:
        out("logs", "stylize_shard", "{split}", "{shard}.log"),
    conda:
        "../../envs/adain.yaml"
    threads: config["cpu_threads"]
    resources:
        mem_mb=12000,
        gpu=STYLIZE_GPUS,
    params:
        identity=get_planned_identity,
    script:
        "../scripts/stylize_shard.py"


rule validate_shard:
    input:
        shard=ancient(out("stylized", "{split}", "{shard}.h5")),
        manifest=ancient(out("manifest", "{split}", "{shard}.tsv")),
    output:
        report=out("validated", "{split}", "{shard}.json"),
    log:
        out("logs", "validate_shard", "{split}", "{shard}.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    params:
        fingerprint=get_planned_fingerprint,
    script:
        "../scripts/validate_shard.py"


rule pack_shard:
    input:
        shard=ancient(out("stylized", "{split}", "{shard}.h5")),
        report=ancient(out("validated", "{split}", "{shard}.json")),
    output:
        shard=out("shards", "{split}", "{split}-{shard}.h5"),
    log:
        out("logs", "pack_shard", "{split}", "{shard}.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    script:
        "../scripts/pack_shard.py"

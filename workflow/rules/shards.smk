rule stylize_shard:
    input:
        unpack(get_weights),
        # the folder assign_styles makes: the DAG (and the report's rule graph) then links the two
        manifests=ancient(PATHS.manifest_dir),
        manifest=ancient(PATHS.manifest("{split}", "{shard}")),
        stats=get_painting_stats,
    output:
        shard=temp(PATHS.staged("{split}", "{shard}")),
    log:
        PATHS.log("stylize_shard", "{split}", "{shard}"),
    conda:
        "../../envs/adain.yaml"
    threads: config["cpu_threads"]
    resources:
        mem_mb=12000,
        gpu=STYLIZE_GPUS,
    params:
        identity=get_planned_identity,
    message:
        "stylize_shard {wildcards.split}/{wildcards.shard} (log: {log})"
    script:
        "../scripts/stylize_shard.py"


rule validate_shard:
    input:
        shard=ancient(PATHS.staged("{split}", "{shard}")),
        manifest=ancient(PATHS.manifest("{split}", "{shard}")),
    output:
        report=PATHS.report("{split}", "{shard}"),
    log:
        PATHS.log("validate_shard", "{split}", "{shard}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    params:
        fingerprint=get_planned_fingerprint,
    message:
        "validate_shard {wildcards.split}/{wildcards.shard} (log: {log})"
    script:
        "../scripts/validate_shard.py"


rule pack_shard:
    input:
        shard=ancient(PATHS.staged("{split}", "{shard}")),
        report=ancient(PATHS.report("{split}", "{shard}")),
    output:
        shard=PATHS.shard("{split}", "{shard}"),
    log:
        PATHS.log("pack_shard", "{split}", "{shard}"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    message:
        "pack_shard {wildcards.split}/{wildcards.shard} (log: {log})"
    script:
        "../scripts/pack_shard.py"

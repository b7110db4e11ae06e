checkpoint prepare_paintings:
    output:
        accepted=PATHS.paintings_accepted,
        rejected=PATHS.paintings_rejected_prepare,
    log:
        PATHS.log("prepare_paintings"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=2000,
    message:
        "prepare_paintings: listing the usable paintings of style_dir (log: {log})"
    script:
        "../scripts/prepare_paintings.py"


rule compute_painting_stats:
    input:
        unpack(get_weights),
        accepted=ancient(PATHS.paintings_accepted),
    output:
        stats=PATHS.painting_chunk("{chunk}"),
    log:
        PATHS.log("compute_painting_stats", "{chunk}"),
    conda:
        "../../envs/adain.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        gpu=STYLIZE_GPUS,
    message:
        "compute_painting_stats {wildcards.chunk}: the paintings' relu4_1 statistics (log: {log})"
    script:
        "../scripts/compute_painting_stats.py"


rule merge_painting_stats:
    input:
        accepted=ancient(PATHS.paintings_accepted),
        chunks=get_painting_chunks,
    output:
        stats=PATHS.painting_stats,
        rejected=PATHS.paintings_rejected_decode,
    log:
        PATHS.log("merge_painting_stats"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    message:
        "merge_painting_stats: one file of painting statistics (log: {log})"
    script:
        "../scripts/merge_painting_stats.py"

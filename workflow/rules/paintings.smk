checkpoint prepare_paintings:
    output:
        accepted=out("paintings", "accepted.tsv"),
        rejected=out("paintings", "rejected_prepare.tsv"),
    log:
        out("logs", "prepare_paintings.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=2000,
    script:
        "../scripts/prepare_paintings.py"


rule compute_painting_stats:
    input:
        unpack(get_weights),
        accepted=ancient(out("paintings", "accepted.tsv")),
    output:
        stats=out("paintings", "stats", "{chunk}.npz"),
    log:
        out("logs", "compute_painting_stats", "{chunk}.log"),
    conda:
        "../../envs/adain.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        gpu=STYLIZE_GPUS,
    script:
        "../scripts/compute_painting_stats.py"


rule merge_painting_stats:
    input:
        accepted=ancient(out("paintings", "accepted.tsv")),
        chunks=get_painting_chunks,
    output:
        stats=out("paintings", "stats.h5"),
        rejected=out("paintings", "rejected_decode.tsv"),
    log:
        out("logs", "merge_painting_stats.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    script:
        "../scripts/merge_painting_stats.py"

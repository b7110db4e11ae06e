checkpoint assign_styles:
    input:
        images=ancient(out("index", "images.tsv")),
        stats=get_painting_stats,
    output:
        manifests=directory(out("manifest")),
    log:
        out("logs", "assign_styles.log"),
    resources:
        mem_mb=8000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/assign_styles.py"

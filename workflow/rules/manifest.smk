checkpoint assign_styles:
    input:
        images=ancient(out("index", "images.tsv")),
        stats=get_painting_stats,
    output:
        manifests=directory(out("manifest")),
    log:
        out("logs", "assign_styles.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=8000,
    script:
        "../scripts/assign_styles.py"

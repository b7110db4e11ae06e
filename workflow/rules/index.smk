rule index_images:
    output:
        images=out("index", "images.tsv"),
        classes=out("index", "classes.tsv"),
        notes=out("index", "notes.txt"),
        rejected=out("index", "rejected.tsv"),
    log:
        out("logs", "index_images.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    script:
        "../scripts/index_images.py"

rule index_images:
    output:
        images=out("index", "images.tsv"),
        classes=out("index", "classes.tsv"),
        notes=out("index", "notes.txt"),
        rejected=out("index", "rejected.tsv"),
    log:
        out("logs", "index_images.log"),
    resources:
        mem_mb=4000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/index_images.py"

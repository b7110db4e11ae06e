rule index_images:
    output:
        images=out("index", "images.tsv"),
        classes=out("index", "classes.tsv"),
        notes=out("index", "notes.txt"),
        rejected=out("index", "rejected.tsv"),
    params:
        content_dir=config["content_dir"],
        splits=config["splits"],
        extensions=config["extensions"],
        val_labels=config["val_labels"],
        class_index=config["class_index"],
    log:
        out("logs", "index_images.log"),
    resources:
        mem_mb=4000,
    conda:
        "../../envs/adain.yaml"
    script:
        "../scripts/index_images.py"

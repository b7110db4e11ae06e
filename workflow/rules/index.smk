rule index_images:
    output:
        images=PATHS.images_tsv,
        classes=PATHS.index_classes,
        notes=PATHS.index_notes,
        rejected=PATHS.index_rejected,
    log:
        PATHS.log("index_images"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    message:
        "index_images: listing the images of content_dir (log: {log})"
    script:
        "../scripts/index_images.py"

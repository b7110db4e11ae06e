# Runs on the controller (localrule): it records the shards' planned identity (device type, weights,
# painting statistics) as the machine that plans the run sees it (adain.run.start.after_manifests).
checkpoint assign_styles:
    input:
        images=ancient(PATHS.images_tsv),
        stats=get_painting_stats,
    output:
        manifests=directory(PATHS.manifest_dir),
    log:
        PATHS.log("assign_styles"),
    localrule: True
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=8000,
    message:
        "assign_styles: a painting for every image, the images cut into shards (log: {log})"
    script:
        "../scripts/assign_styles.py"

rule summarize:
    input:
        images=out("index", "images.tsv"),
        notes=out("index", "notes.txt"),
        index_rejects=out("index", "rejected.tsv"),
        painting_rejects=get_painting_rejects,
        reports=get_shard_reports,
        shards=get_packed_shards,
    output:
        summary=report(out("summary.json"), caption="../report/summary.rst", category="Summary"),
        rejects=out("rejects.tsv"),
        grid=report(out("report", "sample_grid.png"), caption="../report/sample_grid.rst", category="Samples"),
        card=out("README.md"),
    log:
        out("logs", "summarize.log"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    params:
        expected=get_planned_fingerprints,
    script:
        "../scripts/summarize.py"

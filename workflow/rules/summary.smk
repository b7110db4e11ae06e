rule summarize:
    input:
        images=PATHS.images_tsv,
        notes=PATHS.index_notes,
        index_rejects=PATHS.index_rejected,
        painting_rejects=get_painting_rejects,
        stats=get_painting_stats,
        reports=get_shard_reports,
        shards=get_packed_shards,
    output:
        summary=report(PATHS.summary_json, caption="../report/summary.rst", category="Summary"),
        rejects=report(PATHS.rejects_tsv, caption="../report/rejects.rst", category="Summary"),
        grid=report(PATHS.sample_grid, caption="../report/sample_grid.rst", category="Samples"),
        card=report(PATHS.card, caption="../report/card.rst", category="Summary"),
        plots=report(PATHS.summary_plots, caption="../report/plots.rst", category="Summary"),
    log:
        PATHS.log("summarize"),
    conda:
        "../../envs/adain.yaml"
    resources:
        mem_mb=4000,
    params:
        expected=get_planned_fingerprints,
    message:
        "summarize: summary.json, rejects, sample grid, plots, dataset card (log: {log})"
    script:
        "../scripts/summarize.py"

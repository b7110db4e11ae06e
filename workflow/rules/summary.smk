# The end of a run: summary.json, rejects, the sample grid, plots, the dataset card, and the pages of
# its report (snakemake --report report.html: workflow/report/workflow.rst is its landing page).
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
        summary=report(
            PATHS.summary_json,
            caption="../report/summary.rst",
            category="2. Files",
            labels={"file": "summary.json", "holds": "counts per split and class, rejects, speed (JSON)"},
        ),
        rejects=report(
            PATHS.rejects_tsv,
            caption="../report/rejects.rst",
            category="2. Files",
            labels={"file": "rejects.tsv", "holds": "every reject and its reason (tab-separated)"},
        ),
        grid=report(
            PATHS.sample_grid,
            caption="../report/sample_grid.rst",
            category="1. Dataset",
            labels={"page": "sample grid", "shows": "samples as content | painting | stylized"},
        ),
        card=report(
            PATHS.card,
            caption="../report/card.rst",
            category="2. Files",
            labels={"file": "README.md", "holds": "the dataset card (Markdown)"},
        ),
        plots=report(
            PATHS.summary_plots,
            caption="../report/plots.rst",
            category="1. Dataset",
            labels={"page": "plots", "shows": "images per class, rejects by reason, speed over the shards"},
        ),
        card_page=report(
            PATHS.card_html,
            caption="../report/card.rst",
            category="1. Dataset",
            labels={"page": "dataset card", "shows": "how it was made, what it holds, how to load it, licences"},
        ),
        rejects_page=report(
            PATHS.rejects_html,
            caption="../report/rejects.rst",
            category="1. Dataset",
            labels={"page": "rejects", "shows": "every reject and its reason"},
        ),
        overview=PATHS.report_overview,
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

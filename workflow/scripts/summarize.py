from adain.run.jobs import logged, summarize_job
from adain.stages.settings import RunSettings

with logged(snakemake.log[0]):
    summarize_job(
        RunSettings.from_config(snakemake.config),
        images_tsv=snakemake.input.images,
        painting_rejects=snakemake.input.painting_rejects,
        reports=snakemake.input.reports,
        shards=snakemake.input.shards,
        notes_txt=snakemake.input.notes,
        index_rejects_tsv=snakemake.input.index_rejects,
        summary_json=snakemake.output.summary,
        rejects_tsv=snakemake.output.rejects,
        grid_png=snakemake.output.grid,
        card_md=snakemake.output.card,
        plots_png=snakemake.output.plots,
        overview_rst=snakemake.output.overview,
        card_html=snakemake.output.card_page,
        rejects_html=snakemake.output.rejects_page,
        expected=snakemake.params.expected,
        painting_stats=snakemake.input.stats,
    )

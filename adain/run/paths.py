"""The output folder's layout, defined once: where each rule writes below ``output_dir``.

The rules (``workflow/rules``), the run's reconciliation, ``adain status`` and ``adain verify`` all
take their paths from :class:`RunPaths`, so moving an output is a change in one place. Split and
shard are strings, so the rules can pass wildcards: ``paths.shard("{split}", "{shard}")``.

    <output_dir>/
      index/          images.tsv classes.tsv notes.txt rejected.tsv         (index_images)
      paintings/      accepted.tsv rejected_prepare.tsv                     (prepare_paintings)
                      stats/<chunk>.npz                                     (compute_painting_stats)
                      stats.h5 rejected_decode.tsv                          (merge_painting_stats)
      manifest/       shards.tsv <split>/<shard>.tsv identity.json          (assign_styles)
      stylized/       <split>/<shard>.h5                                    (stylize_shard: staging)
      validated/      <split>/<shard>.json                                  (validate_shard)
      shards/         <split>/<split>-<shard>.h5                            (pack_shard: the dataset)
      summary.json rejects.tsv README.md report/(sample_grid.png plots.png
                   overview.rst card.html rejects.html)                     (summarize)
      evaluation/     ...                                                   (evaluation rules)
      logs/<rule>/    ...                                                   (every rule's log)
      stale/<time>/   outputs that left the dataset, listed in stale/stale.tsv
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunPaths"]


@dataclass(frozen=True)
class RunPaths:
    """Every output's path below ``root`` (a run's ``output_dir``)."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    def below(self, *parts: str) -> Path:
        """A path below the output folder."""
        return self.root.joinpath(*parts)

    # --- index_images ----------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        return self.below("index")

    @property
    def images_tsv(self) -> Path:
        return self.below("index", "images.tsv")

    @property
    def index_classes(self) -> Path:
        return self.below("index", "classes.tsv")

    @property
    def index_notes(self) -> Path:
        return self.below("index", "notes.txt")

    @property
    def index_rejected(self) -> Path:
        return self.below("index", "rejected.tsv")

    @property
    def index_companions(self) -> list[Path]:
        """What index_images writes beside ``images.tsv``."""
        return [self.index_classes, self.index_notes, self.index_rejected]

    # --- paintings -------------------------------------------------------------------------
    @property
    def paintings_accepted(self) -> Path:
        return self.below("paintings", "accepted.tsv")

    @property
    def paintings_rejected_prepare(self) -> Path:
        return self.below("paintings", "rejected_prepare.tsv")

    @property
    def painting_chunks_dir(self) -> Path:
        return self.below("paintings", "stats")

    def painting_chunk(self, chunk: str) -> Path:
        """One chunk of painting statistics (``chunk``: four digits, or ``"{chunk}"``)."""
        return self.below("paintings", "stats", f"{chunk}.npz")

    @property
    def painting_stats(self) -> Path:
        return self.below("paintings", "stats.h5")

    @property
    def paintings_rejected_decode(self) -> Path:
        return self.below("paintings", "rejected_decode.tsv")

    # --- assign_styles ---------------------------------------------------------------------
    @property
    def manifest_dir(self) -> Path:
        return self.below("manifest")

    @property
    def shards_tsv(self) -> Path:
        """The manifest's list of shards."""
        return self.below("manifest", "shards.tsv")

    def manifest(self, split: str, shard: str) -> Path:
        return self.below("manifest", split, f"{shard}.tsv")

    @property
    def identity_json(self) -> Path:
        """The controller's planned shard identity, for jobs on other machines."""
        return self.below("manifest", "identity.json")

    # --- stylize_shard, validate_shard, pack_shard -----------------------------------------
    @property
    def staging_dir(self) -> Path:
        return self.below("stylized")

    def staged(self, split: str, shard: str) -> Path:
        """A stylized shard before validation (with ``.parts`` checkpoints beside it while it grows)."""
        return self.below("stylized", split, f"{shard}.h5")

    @property
    def reports_dir(self) -> Path:
        return self.below("validated")

    def report(self, split: str, shard: str) -> Path:
        """A shard's validation report."""
        return self.below("validated", split, f"{shard}.json")

    @property
    def shards_dir(self) -> Path:
        return self.below("shards")

    def shard(self, split: str, shard: str) -> Path:
        """A final (validated, packed) shard: what readers open."""
        return self.below("shards", split, f"{split}-{shard}.h5")

    # --- summarize -------------------------------------------------------------------------
    @property
    def summary_json(self) -> Path:
        return self.below("summary.json")

    @property
    def rejects_tsv(self) -> Path:
        return self.below("rejects.tsv")

    @property
    def sample_grid(self) -> Path:
        return self.below("report", "sample_grid.png")

    @property
    def summary_plots(self) -> Path:
        return self.below("report", "plots.png")

    @property
    def card(self) -> Path:
        """The dataset card."""
        return self.below("README.md")

    @property
    def report_overview(self) -> Path:
        """The report's landing text (``snakemake --report``; workflow/report/workflow.rst includes it)."""
        return self.below("report", "overview.rst")

    @property
    def card_html(self) -> Path:
        """The dataset card as a page, for the report."""
        return self.below("report", "card.html")

    @property
    def rejects_html(self) -> Path:
        """Every reject as a page, for the report."""
        return self.below("report", "rejects.html")

    @property
    def summary_files(self) -> list[Path]:
        return [
            self.summary_json,
            self.rejects_tsv,
            self.sample_grid,
            self.card,
            self.summary_plots,
            self.report_overview,
            self.card_html,
            self.rejects_html,
        ]

    # --- the rest --------------------------------------------------------------------------
    def evaluation(self, *parts: str) -> Path:
        return self.below("evaluation", *parts)

    def log(self, rule: str, *parts: str) -> Path:
        """A rule's log: ``logs/<rule>.log`` or, with ``parts``, ``logs/<rule>/<parts...>.log``."""
        if not parts:
            return self.below("logs", f"{rule}.log")
        return self.below("logs", rule, *parts[:-1], f"{parts[-1]}.log")

    @property
    def stale_dir(self) -> Path:
        return self.below("stale")

    @property
    def run_lock(self) -> Path:
        """Held (``flock``) by the live run of this folder (adain.run.preflight.claim_output_dir)."""
        return self.below(".adain-run.lock")

"""What the workflow does when it starts: the one place where the Snakefile layer acts.

``workflow/rules/common.smk`` declares rules and pure input functions; everything with an effect
lives here, in two steps, each documented:

* :func:`start_run` while the Snakefile is read (every process, also Snakemake's jobs on other
  machines): puts this checkout on ``PYTHONPATH`` for the job scripts (also inside a ``--sdm
  conda`` environment); in the main process only, checks inputs, weights and output folder
  (:func:`adain.run.preflight.check_run`: a wrong setting fails in seconds) and takes over the
  working directory (:func:`adain.run.preflight.claim_workdir`: Snakemake locks left by a killed
  run are removed, never those of a live one).
* :meth:`RunStart.reconcile`, once, when Snakemake first asks for the run's targets (before it
  looks at any output; only then does it know whether this is a dry run): in a real run it claims
  the output folder (one live run per folder) and downloads missing release weights; then it
  compares what the folder holds with the plan (:mod:`adain.run.reconcile`) and removes or moves
  aside what is out of date (a dry run only says what it would do). Outputs made later in the run
  are checked by the jobs that make the plan: ``prepare_paintings`` checks the statistics chunks
  and ``assign_styles`` the shards (:func:`after_painting_list`, :func:`after_manifests`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..stages.settings import RunSettings
from .plan import Plan

__all__ = ["RunStart", "start_run", "after_painting_list", "after_manifests"]


class RunStart:
    """A started workflow run: its settings, plan, paths and the locks it holds."""

    def __init__(self, settings: RunSettings, main_process: bool, workdir_lock: IO | None = None) -> None:
        self.settings = settings
        self.plan = Plan(settings)
        self.main_process = main_process
        self.workdir_lock = workdir_lock  # held for the life of the run
        self.output_lock: IO | None = None
        self._reconciled = False

    @property
    def paths(self):
        """The output folder's layout (:class:`adain.run.paths.RunPaths`)."""
        return self.plan.paths

    def reconcile(self, dry_run: bool) -> None:
        """Once per run, in the main process: claim the output folder, fetch missing weights and
        reconcile the folder with the plan (a dry run: say what would be done). Later calls and
        other processes do nothing."""
        from .preflight import claim_output_dir, ensure_weights
        from .reconcile import Reconciler

        if self._reconciled or not self.main_process:
            return
        self._reconciled = True
        if not dry_run:
            self.output_lock = claim_output_dir(self.paths.root)
            ensure_weights(self.settings.config)
        reconciler = Reconciler(self.plan, dry_run=dry_run)
        if reconciler.before_run():  # the manifests are current: the shards can be checked now
            reconciler.check_shards()
            if not dry_run:
                self.plan.write_identity()


def start_run(config: dict, basedir: str | Path, main_process: bool, more_problems: Sequence[str] = ()) -> RunStart:
    """Start a workflow run from its validated ``config`` (see the module docstring for the effects).

    Args:
        config: the validated configuration (defaults filled in by the schema).
        basedir: the checkout's root (``workflow.basedir``), put first on ``PYTHONPATH``.
        main_process: whether this is Snakemake's main process (not a job's).
        more_problems: further configuration problems to report with the run's own (evaluation).

    Raises:
        adain.run.preflight.PreflightError: listing every problem, before any work.
    """
    from .preflight import check_run, claim_workdir

    paths = [str(basedir), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    settings = RunSettings.from_config(config)
    if not main_process:
        return RunStart(settings, main_process=False)
    check_run(config, more_problems)
    return RunStart(settings, main_process=True, workdir_lock=claim_workdir())


def after_painting_list(settings: RunSettings) -> None:
    """Run by ``prepare_paintings`` once it has listed the paintings: statistics chunks of another
    list are removed, so Snakemake makes them again."""
    from .reconcile import Reconciler

    Reconciler(Plan(settings)).check_chunks()


def after_manifests(settings: RunSettings) -> None:
    """Run by ``assign_styles`` (on the controller) once it has made the manifests: shards, staging
    shards, reports and summary are reconciled with them, and the planned identity is recorded
    for jobs on other machines."""
    from .reconcile import Reconciler

    plan = Plan(settings)
    Reconciler(plan).check_shards()
    plan.write_identity()

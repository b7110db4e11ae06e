"""What the workflow does when it starts: the one place where the Snakefile layer acts.

``workflow/rules/common.smk`` declares rules and pure input functions; everything with an effect
lives here, in two steps, each documented:

* :func:`start_run` while the Snakefile is read (every process, also Snakemake's jobs on other
  machines): puts this checkout on ``PYTHONPATH`` for the job scripts (also inside a ``--sdm
  conda`` environment); in the main process only, checks inputs, weights and output folder
  (:func:`adain.run.preflight.check_run`: a wrong setting fails in seconds) and takes over the
  working directory (:func:`adain.run.preflight.claim_workdir`: Snakemake locks left by a killed
  run are removed, never those of a live one), makes Snakemake's per-file "Missing metadata"
  warnings of a ``--report`` without ``.snakemake/`` one line (:mod:`adain.run.lost_metadata`) and
  leaves its scheduling lines out of the console (:mod:`adain.run.chatter`).
* :meth:`RunStart.reconcile`, once, when Snakemake first asks for the run's targets (before it
  looks at any output; only then does it know whether this is a dry run): in a real run it claims
  the output folder (one live run per folder) and downloads missing release weights; then it
  compares what the folder holds with the plan (:mod:`adain.run.reconcile`) and removes or moves
  aside what is out of date (a dry run only says what it would do). Outputs made later in the run
  are checked by the jobs that make the plan: ``prepare_paintings`` checks the statistics chunks
  and ``assign_styles`` the shards (:func:`after_painting_list`, :func:`after_manifests`).

With ``output_dir: s3://bucket/prefix`` the run works in a local copy (:mod:`adain.run.mirror`):
:meth:`RunStart.reconcile` first pulls what the bucket holds, reconciles, pushes the result and
keeps pushing in the background; :meth:`RunStart.finish` (the Snakefile's ``onsuccess`` and
``onerror``) pushes the last outputs.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..stages.settings import RunSettings
from .plan import Plan

__all__ = ["RunStart", "start_run", "refusing", "after_painting_list", "after_manifests"]


class RunStart:
    """A started workflow run: its settings, plan, paths and the locks it holds."""

    def __init__(
        self,
        settings: RunSettings,
        main_process: bool,
        workdir_lock: IO | None = None,
        storage_provider=None,
        chatter=None,
    ) -> None:
        self.settings = settings
        self.plan = Plan(settings)
        self.main_process = main_process
        self.workdir_lock = workdir_lock  # held for the life of the run
        self.output_lock: IO | None = None
        self.storage_provider = storage_provider  # Snakemake's S3 provider, when output_dir is a bucket
        self.chatter = chatter  # adain.run.chatter's filter: it notes when Snakemake finds nothing to do
        self.mirror = None
        self._reconciled = False
        self._said_end = False

    @property
    def paths(self):
        """The output folder's layout (:class:`adain.run.paths.RunPaths`)."""
        return self.plan.paths

    def reconcile(self, dry_run: bool) -> None:
        """Once per run, in the main process: claim the output folder, fetch missing weights and
        reconcile the folder with the plan (a dry run: say what would be done). Later calls and
        other processes do nothing."""
        if self._reconciled or not self.main_process:
            return
        self._reconciled = True
        with refusing():
            self._reconcile(dry_run)

    def _reconcile(self, dry_run: bool) -> None:
        from .preflight import claim_output_dir, ensure_weights
        from .reconcile import Reconciler

        if not dry_run:
            self.output_lock = claim_output_dir(self.paths.root)
            ensure_weights(self.settings.config)
            atexit.register(self._at_exit)
        if self.settings.output_storage:
            self.mirror = self._pull(dry_run)
        reconciler = Reconciler(self.plan, dry_run=dry_run)
        if reconciler.before_run():  # the manifests are current: the shards can be checked now
            reconciler.check_shards()
            if not dry_run:
                self.plan.write_identity()
        if self.mirror is not None:
            print(f"adain: pushed to {self.settings.output_storage}: {self.mirror.push()}", flush=True)
            self.mirror.start()

    def _pull(self, dry_run: bool):
        """The output folder's bucket copy, checked and pulled into the local copy (a dry run only
        checks the bucket can be reached, and reads the local copy as it is)."""
        from ..files.objectstore import ObjectStoreError, S3Folder
        from .mirror import OutputMirror
        from .preflight import PreflightError

        url = self.settings.output_storage
        try:
            folder = S3Folder(url, self.storage_provider)
            folder.check(create=not dry_run)
        except ObjectStoreError as error:
            raise PreflightError(f"output_dir: {error}") from None
        if dry_run:
            print(f"adain: dry run: {url} is not pulled; the local copy {self.paths.root} is read as it is", flush=True)
            return None
        mirror = OutputMirror(folder, self.paths.root, self.settings.config["storage_sync_seconds"])
        try:
            mirror.claim()
        except ObjectStoreError as error:
            raise PreflightError(f"output_dir: {error}") from None
        print(f"adain: pulled from {url} into {self.paths.root}: {mirror.pull()}", flush=True)
        atexit.register(self.finish)  # also when Snakemake finds nothing to do (no onsuccess then)
        return mirror

    def finish(self, succeeded: bool = False) -> None:
        """When the run ends (``onsuccess``/``onerror``): on success, what the run made, rejected
        and noted, and where to look; then the last push to the bucket, if any."""
        if succeeded and self.main_process:
            self._say_end()
        if self.mirror is not None:
            pushed = self.mirror.finish()
            print(
                f"adain: {self.settings.output_storage} holds the run's outputs (this run pushed {pushed})", flush=True
            )
            self.mirror = None

    def _say_end(self) -> None:
        """The run's end lines (:func:`adain.run.status.run_end_lines`), once."""
        from .status import run_end_lines

        if self._said_end:
            return
        self._said_end = True
        for line in run_end_lines(self.paths.root):
            print(f"adain: {line}", flush=True)

    def _at_exit(self) -> None:
        """Snakemake runs no ``onsuccess`` when every target is current: the end lines then too."""
        if self.chatter is not None and self.chatter.nothing_to_be_done:
            self._say_end()


@contextmanager
def refusing() -> Iterator[None]:
    """A :class:`adain.run.preflight.PreflightError` ends the run with its problems alone: a few
    lines on stderr, no traceback, whatever Snakemake wraps around the call."""
    from .config_check import refuse
    from .preflight import PreflightError

    try:
        yield
    except PreflightError as error:
        refuse(error.problems)


def start_run(
    config: dict, basedir: str | Path, main_process: bool, more_problems: Sequence[str] = (), storage_provider=None
) -> RunStart:
    """Start a workflow run from its validated ``config`` (see the module docstring for the effects).

    Args:
        config: the validated configuration (defaults filled in by the schema).
        basedir: the checkout's root (``workflow.basedir``), put first on ``PYTHONPATH``.
        main_process: whether this is Snakemake's main process (not a job's).
        more_problems: further configuration problems to report with the run's own (evaluation).
        storage_provider: Snakemake's S3 storage provider when ``output_dir`` is ``s3://...``
            (its settings are passed on to the jobs through the environment).

    Raises:
        adain.run.preflight.PreflightError: listing every problem, before any work.
    """
    from ..files.objectstore import export_s3_settings
    from .chatter import install_chatter_filter
    from .lost_metadata import install_lost_metadata_filter
    from .preflight import check_run, claim_workdir

    paths = [str(basedir), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    settings = RunSettings.from_config(config)
    if not main_process:
        return RunStart(settings, main_process=False)
    with refusing():
        warnings = check_run(config, more_problems)
    for warning in warnings:
        print(f"adain: warning: {warning}", flush=True)
    install_lost_metadata_filter()  # `--report` without .snakemake/: one line, not one per output
    chatter = install_chatter_filter()  # a job is one line: its rule's message (adain.run.chatter)
    if storage_provider is not None:
        export_s3_settings(storage_provider)
    return RunStart(
        settings, main_process=True, workdir_lock=claim_workdir(), storage_provider=storage_provider, chatter=chatter
    )


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

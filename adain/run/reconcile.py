"""Every run reconciles: what an output folder holds is compared with what the configuration plans.

Whether an output is current is decided from the fingerprints recorded in the outputs themselves
(:mod:`adain.stages.fingerprints`), never from Snakemake's metadata or file times, so the outcome is the same
with or without ``.snakemake/``, after a copy, on a fresh clone or a recycled VM:

* an output whose fingerprint matches is kept;
* a cheap one that differs (index, painting list, statistics, manifests, validation reports,
  summary) is deleted, and Snakemake makes it again;
* a final shard that differs, is damaged or no longer belongs to the plan (e.g. after a
  ``shard_size`` change) leaves the dataset: it is moved to ``<output_dir>/stale/<time>/`` and
  listed in ``stale/stale.tsv``, so no reader finds it; the plan's shard is made again;
* a final shard whose only difference is the packing (``compression``) goes back to staging and
  is validated and packed again: never restylized.

:class:`Plan` computes the fingerprints a configuration expects; :class:`Reconciler` applies the
rules above (:mod:`adain.run.start`: once before Snakemake looks at the outputs; then the jobs that make
the plan, ``prepare_paintings`` and ``assign_styles``, check what depends on it).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from ..files.tsv import display_name, read_meta, read_tsv, write_tsv
from ..shards.checkpoint import PARTS_SUFFIX
from ..stages.speed import RECORD_SUFFIX
from .paths import RunPaths
from .plan import Plan, shard_key

__all__ = ["Reconciler", "retire", "identity_changes"]

log = logging.getLogger(__name__)


def retire(output_dir: Path, path: Path, reason: str, stamp: str | None = None) -> str:
    """Move a final shard out of the dataset, to ``<output_dir>/stale/<stamp>/`` (same relative
    path), and list it in ``stale/stale.tsv``. Returns its new path relative to ``output_dir``."""
    output_dir, path = Path(output_dir), Path(path)
    target = RunPaths(output_dir).stale_dir / (stamp or time.strftime("%Y%m%d-%H%M%S")) / path.relative_to(output_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    moved = display_name(target.relative_to(output_dir))
    listing = RunPaths(output_dir).stale_dir / "stale.tsv"
    rows = [(r["file"], r["reason"]) for r in read_tsv(listing)] if listing.is_file() else []
    write_tsv(listing, ["file", "reason"], rows + [(moved, reason)])
    return moved


def _say(message: str) -> None:
    print(f"adain: {message}", flush=True)


class Reconciler:
    """Applies a :class:`Plan` to ``output_dir`` (see the module docstring).

    Args:
        plan: what the configuration expects.
        dry_run: only say what would be done.
        say: where to tell the user (one line per action).
    """

    def __init__(self, plan: Plan, dry_run: bool = False, say: Callable[[str], None] = _say) -> None:
        self.plan = plan
        self.dry_run = dry_run
        self.say = say
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.retired: list[tuple[str, str]] = []
        self.shards_checked = False

    # --- actions ---------------------------------------------------------------------------
    def _remove(self, path: Path, reason: str) -> None:
        if not (path.exists() or path.is_symlink()):
            return
        self.say(f"{'would remove' if self.dry_run else 'removing'} {display_name(path)} ({reason})")
        if self.dry_run:
            return
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

    def _retire(self, path: Path, reason: str) -> None:
        self.say(f"{'would move' if self.dry_run else 'moving'} {display_name(path)} out of the dataset ({reason})")
        if not self.dry_run:
            self.retired.append((retire(self.plan.paths.root, path, reason, self.stamp), reason))

    def _check_tsv(self, path: Path, expected: str, companions: list[Path], what: str) -> bool:
        """Keep ``path`` (and its companions) if its recorded fingerprint is ``expected``."""
        if not path.exists():
            for companion in companions:
                self._remove(companion, f"{what} is being made again")
            return False
        recorded = (read_meta(path) or {}).get("fingerprint")
        if recorded == expected:
            return True
        reason = (
            f"{what} is out of date (its settings or the files it lists changed)"
            if recorded
            else f"{what} has no fingerprint"
        )
        for file in (path, *companions):
            self._remove(file, reason)
        return False

    # --- before the DAG is built -----------------------------------------------------------
    def before_run(self) -> bool:
        """Index, painting list, painting statistics and manifests (cheap outputs).

        Returns:
            Whether the manifests exist and are current, so that the shards can be checked now.
        """
        plan = self.plan
        index_ok = self._check_tsv(
            plan.paths.images_tsv,
            plan.index_fingerprint(),
            plan.paths.index_companions,
            "the index",
        )
        stats_ok = True
        if plan.adain:
            accepted = plan.paths.paintings_accepted
            paintings_ok = self._check_tsv(
                accepted,
                plan.paintings_fingerprint(),
                [plan.paths.paintings_rejected_prepare],
                "the painting list",
            )
            if plan.weights_sha256 is None:
                return False  # a dry run before the weights' download: nothing can be compared yet
            if paintings_ok:
                self.check_chunks()
                stats_ok = self._check_stats(accepted)
            else:  # made from the old list: they go with it (the chunks are checked once it is made again)
                for path in (plan.paths.painting_stats, plan.paths.paintings_rejected_decode):
                    self._remove(path, "the painting list is being made again")
                stats_ok = False
        if not (index_ok and stats_ok):
            self._remove_plan("its inputs are being made again")
            return False
        if not plan.paths.manifest_dir.exists():
            return False
        from ..stages.assign_styles import manifest_changes, read_manifest_fingerprint, read_manifest_settings

        if read_manifest_fingerprint(plan.paths.manifest_dir) != plan.manifest_fingerprint():
            changes = manifest_changes(read_manifest_settings(plan.paths.manifest_dir), plan.manifest_settings())
            self._remove_plan(
                f"the manifests are out of date: {', '.join(changes)} changed"
                if changes
                else "the manifests are out of date (seed, shard_size, order, styles_per_image, index or paintings "
                "changed; manifests of this age do not record which)"
            )
            return False
        return not self.dry_run or plan.paths.shards_tsv.exists()

    def _remove_plan(self, reason: str) -> None:
        """The manifests, and the summary that describes their shards (the shards themselves are
        reconciled once the new manifests exist)."""
        plan = self.plan
        if not plan.paths.manifest_dir.exists():
            return
        self._remove(plan.paths.manifest_dir, reason)
        for path in self.plan.paths.summary_files:
            self._remove(path, "the plan is being made again")

    def check_chunks(self) -> None:
        """Statistics chunks: keep those whose fingerprint matches the painting list's rows."""
        from ..stages.paintings import read_chunk_fingerprint

        plan = self.plan
        folder = plan.paths.painting_chunks_dir
        if not folder.is_dir() or plan.weights_sha256 is None:
            return
        expected = plan.chunk_fingerprints(plan.paths.paintings_accepted)
        for path in sorted(folder.glob("*.npz")):
            number = int(path.stem) if path.stem.isdigit() else -1
            if not 0 <= number < len(expected):
                self._remove(path, "not a chunk of the current painting list")
            elif read_chunk_fingerprint(path) != expected[number]:
                self._remove(path, "painting statistics out of date or damaged")

    def _check_stats(self, accepted: Path) -> bool:
        plan = self.plan
        companions = [plan.paths.paintings_rejected_decode]
        if not plan.paths.painting_stats.exists():
            for companion in companions:
                self._remove(companion, "the statistics are being made again")
            return False
        try:
            from ..stages.paintings import PaintingStats

            stats = PaintingStats(plan.paths.painting_stats)
            current = str(stats.attrs.get("fingerprint")) == plan.stats_fingerprint(accepted) and stats.verify()
        except OSError:
            current = False
        if not current:
            for file in (plan.paths.painting_stats, *companions):
                self._remove(file, "painting statistics out of date or damaged")
        return current

    # --- after assign_styles ---------------------------------------------------------------
    def check_shards(self) -> None:
        """Final shards, staging shards, checkpoints, validation reports and the summary."""
        if self.shards_checked:
            return
        self.shards_checked = True
        plan = self.plan
        if plan.adain and plan.weights_sha256 is None:
            return  # a dry run before the weights' download: nothing can be compared yet
        expected = {(split, shard): plan.shard_fingerprint(split, shard) for split, shard, _ in plan.shards}
        pack = plan.pack.fingerprint()
        self._check_final(expected, pack)
        self._check_staging(expected)
        self._check_reports(expected)
        self._restore_reports(expected)
        self._check_summary()
        if self.retired:
            from .stale import describe_stale

            self.say(describe_stale(plan.paths.root, len(self.retired)))

    def _check_final(self, expected: dict, pack: str) -> None:
        plan = self.plan
        shards_dir = plan.paths.shards_dir
        if not shards_dir.is_dir():
            return
        for path in sorted(p for p in shards_dir.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                self._remove(path, "a temporary file of a killed job")
                continue
            key = shard_key(shards_dir, path)
            if key not in expected:
                self._retire(path, "not part of the current plan (shard_size, splits or inputs changed)")
                continue
            attrs = _final_attrs(path)
            if attrs is None:
                self._retire(path, "damaged: unreadable, truncated or incomplete")
            elif attrs.get("fingerprint") != expected[key]:
                self._retire(path, f"made with other settings or inputs: {self._shard_changes(attrs)}")
            elif attrs.get("pack_fingerprint") != pack:
                staging = plan.paths.staged(*key)
                self.say(
                    f"{'would repack' if self.dry_run else 'repacking'} {display_name(path)} (packing settings changed)"
                )
                if not self.dry_run:
                    from ..stages.pack_shard import unpack_for_repacking

                    unpack_for_repacking(path, plan.paths.report(*key), staging)

    def _shard_changes(self, attrs: dict) -> str:
        """What differs between a shard's recorded making and the plan: ``alpha 1.0 -> 0.5``,
        ``seed 0 -> 1``, ``weights_sha256.vgg 463b134b... -> 9a1c2e0f...``; else its manifest."""
        import json

        try:
            recorded = json.loads(attrs.get("identity") or "null")
        except ValueError:
            recorded = None
        changes = identity_changes(recorded, self.plan.identity) if isinstance(recorded, dict) else []
        seed = attrs.get("seed")
        if seed is not None and int(seed) != self.plan.run.manifest.seed:
            changes.append(f"seed {int(seed)} -> {self.plan.run.manifest.seed}")
        return ", ".join(changes) if changes else "its manifest (images, paintings or shard_size) changed"

    def _check_staging(self, expected: dict) -> None:
        staging = self.plan.paths.staging_dir
        if not staging.is_dir():
            return
        for path in sorted(staging.glob("*/*")):
            split, name = path.parent.name, path.name
            if name.endswith(".h5" + PARTS_SUFFIX):
                if (split, name[: -len(".h5" + PARTS_SUFFIX)]) not in expected:
                    self._remove(path, "checkpoints of a shard no longer planned")
            elif name.endswith(".h5.lock"):
                continue
            elif name.endswith(".h5" + RECORD_SUFFIX):  # a job's record (timing): kept while its shard is
                if not path.with_name(name[: -len(RECORD_SUFFIX)]).exists() and not self.dry_run:
                    path.unlink(missing_ok=True)
            elif name.endswith(".h5") and (split, name[:-3]) in expected:
                attrs = _final_attrs(path, final=False)
                if attrs is None:
                    self._remove(path, "a stylized shard, damaged or unfinished")
                elif attrs.get("fingerprint") != expected[(split, name[:-3])]:
                    self._remove(path, f"a stylized shard of other settings or inputs: {self._shard_changes(attrs)}")
            elif not name.startswith("."):
                self._remove(path, "a stylized shard no longer planned")

    def _check_reports(self, expected: dict) -> None:
        import json

        folder = self.plan.paths.reports_dir
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*/*.json")):
            key = (path.parent.name, path.stem)
            try:
                fingerprint = json.loads(path.read_text()).get("fingerprint")
            except (OSError, ValueError):
                fingerprint = None
            if (
                key not in expected
                or fingerprint != expected[key]
                or not self.plan.paths.shard(*key).exists()
                and not self.plan.paths.staged(*key).exists()
            ):
                self._remove(path, "validation report of another shard version")

    def _restore_reports(self, expected: dict) -> None:
        """A current final shard whose validation report is missing (a copied output_dir, a deleted
        ``validated/``) gets it back from its own contents: else the summary would need it and
        Snakemake would stylize the shard again to validate it."""
        from ..stages.validate_shard import report_from_final_shard

        for (split, shard), fingerprint in expected.items():
            final, report = self.plan.paths.shard(split, shard), self.plan.paths.report(split, shard)
            if final.exists() and not report.exists() and not self.dry_run:
                attrs = _final_attrs(final)
                if attrs is not None and attrs.get("fingerprint") == fingerprint:
                    self.say(f"restoring {display_name(report)} from its validated shard")
                    report_from_final_shard(final, report)

    def _check_summary(self) -> None:
        import json

        plan = self.plan
        summary = plan.paths.summary_json
        if not summary.exists():
            return
        try:
            listed = {
                (e["file"], e["fingerprint"], e["pack_fingerprint"])
                for e in json.loads(summary.read_text())["shard_files"]
            }
        except (OSError, ValueError, KeyError, TypeError):
            listed = None
        pack = plan.pack.fingerprint()
        planned = {(file, fingerprint, pack) for file, fingerprint in plan.expected_files().items()}
        missing = [file for file, _, _ in planned if not plan.paths.below(file).exists()]
        if listed != planned or missing:
            reason = (
                f"{len(missing)} of its shards are being made again"
                if missing
                else "it describes another set of shards"
            )
            for path in self.plan.paths.summary_files:
                self._remove(path, reason)


def _short(value) -> str:
    """A setting's value for a line: digests cut to 12 characters."""
    text = json_text(value)
    return text[:12] + "..." if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def json_text(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def identity_changes(recorded: dict, planned: dict, prefix: str = "") -> list[str]:
    """``key old -> new`` for each setting of a shard identity that differs (nested keys dotted:
    ``numerics.threads 2 -> 4``)."""
    changes = []
    for key in sorted(set(recorded) | set(planned)):
        old, new = recorded.get(key), planned.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changes += identity_changes(old, new, f"{prefix}{key}.")
        else:
            changes.append(f"{prefix}{key} {_short(old)} -> {_short(new)}")
    return changes


def _final_attrs(path: Path, final: bool = True) -> dict | None:
    """A shard's attributes if it opens and is complete (counts agree; final shards have their
    checksums), else ``None``. HDF5 itself detects a truncated file."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            count = len(handle["labels"])
            if len(handle["images"]) != count:
                return None
            if final and ("checksums" not in handle or len(handle["checksums"]) != count):
                return None
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in handle.attrs.items()}
    except (OSError, KeyError, ValueError):
        return None

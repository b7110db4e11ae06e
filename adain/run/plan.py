"""What a run's settings expect in its output folder: the fingerprint of every output, computed from
the same settings objects the jobs receive (:class:`adain.stages.settings.RunSettings`), so a setting
cannot decide a job and not its resume. :mod:`adain.run.reconcile` compares the folder with it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from ..files.hashing import file_sha256
from ..files.tsv import read_tsv
from ..stages.fingerprints import shard_fingerprint, stylization_fingerprint
from ..stages.settings import RunSettings
from .paths import RunPaths

__all__ = ["Plan", "shard_key"]


def shard_key(shards_dir: Path, path: Path) -> tuple[str, str] | None:
    """``(split, shard)`` of a final shard ``<shards_dir>/<split>/<split>-<shard>.h5``, else ``None``."""
    try:
        split, name = path.relative_to(shards_dir).parts
    except ValueError:
        return None
    prefix = f"{split}-"
    if not (name.startswith(prefix) and name.endswith(".h5")):
        return None
    shard = name[len(prefix) : -3]
    return (split, shard) if len(shard) == 5 and shard.isdigit() else None


class Plan:
    """The fingerprints a run's settings expect in its output folder: derived from the same
    settings objects the jobs receive, so a setting cannot decide a job and not its resume."""

    def __init__(self, run: RunSettings) -> None:
        self.run = run
        self.paths = RunPaths(run.output_dir)
        self.settings = run.stylize
        self.pack = run.pack
        self.adain = self.settings.method == "adain"

    # --- upstream --------------------------------------------------------------------------
    def index_fingerprint(self) -> str:
        from ..stages.index_images import index_fingerprint

        index = self.run.index
        return index_fingerprint(
            index.content_dir, list(index.splits), list(index.extensions), index.val_labels, index.class_index
        )

    def paintings_fingerprint(self) -> str:
        from ..stages.paintings import paintings_fingerprint

        paintings = self.run.paintings
        return paintings_fingerprint(
            paintings.style_dir, list(paintings.extensions), paintings.min_side, paintings.max_pixels
        )

    @cached_property
    def weights_sha256(self) -> dict | None:
        """sha256 of the configured weight files (AdaIN; ``None`` for the filters or while a file
        is missing, e.g. in a dry run before its download)."""
        paths = {"vgg": Path(self.run.weights[0]), "decoder": Path(self.run.weights[1])}
        if not self.adain or not all(p.is_file() for p in paths.values()):
            return None
        return {kind: file_sha256(path) for kind, path in paths.items()}

    @property
    def recipe_key(self) -> str:
        return self.settings.get_preset().painting.key

    def chunk_fingerprints(self, accepted_tsv: Path) -> list[str]:
        from ..stages.paintings import chunk_fingerprint

        rows, size = read_tsv(accepted_tsv), self.run.paintings.per_job
        vgg = self.weights_sha256["vgg"]
        return [chunk_fingerprint(rows[i : i + size], vgg, self.recipe_key) for i in range(0, len(rows), size)]

    def stats_fingerprint(self, accepted_tsv: Path) -> str:
        from ..stages.paintings import stats_fingerprint

        return stats_fingerprint(accepted_tsv, self.weights_sha256["vgg"], self.recipe_key)

    def manifest_settings(self) -> dict:
        """What decides the manifests (:func:`adain.stages.assign_styles.manifest_settings`)."""
        from ..stages.assign_styles import manifest_settings, names_digest
        from ..stages.paintings import PaintingStats

        names = PaintingStats(self.paths.painting_stats).names if self.adain else None
        manifest = self.run.manifest
        return manifest_settings(
            self.paths.images_tsv,
            names_digest(names),
            manifest.seed,
            manifest.shard_size,
            manifest.order,
            manifest.styles_per_image,
        )

    def manifest_fingerprint(self) -> str:
        from ..stages.fingerprints import digest

        return digest(self.manifest_settings())

    # --- shards ----------------------------------------------------------------------------
    @cached_property
    def device_type(self) -> str:
        """``auto`` plans for CUDA where this machine lists GPUs (``nvidia-smi``), else the CPU."""
        if self.settings.device == "auto":
            from ..engine.gpus import visible_gpus

            return "cuda" if visible_gpus() else "cpu"
        return self.settings.device.split(":")[0]

    @cached_property
    def identity(self) -> dict:
        """What every shard's bytes depend on besides its manifest (needs the statistics for AdaIN)."""
        stats_digest = None
        if self.adain:
            from ..stages.paintings import PaintingStats

            stats_digest = PaintingStats(self.paths.painting_stats).digest
        return self.settings.identity(self.device_type, self.weights_sha256, stats_digest)

    @cached_property
    def stylization_fingerprint(self) -> str:
        return stylization_fingerprint(self.identity)

    def write_identity(self) -> Path:
        """Record the controller's planned identity beside the manifests, for jobs on other machines."""
        import json

        from ..files.atomic import atomic_write_text

        atomic_write_text(self.paths.identity_json, json.dumps(self.identity, sort_keys=True, indent=1))
        return self.paths.identity_json

    def read_identity(self) -> dict:
        """The controller's planned identity (:meth:`write_identity`), or this machine's when absent."""
        import json

        try:
            return json.loads(self.paths.identity_json.read_text())
        except (OSError, ValueError):
            return self.identity

    def shard_fingerprint(self, split: str, shard: str) -> str:
        return shard_fingerprint(self.stylization_fingerprint, file_sha256(self.paths.manifest(split, shard)))

    @property
    def shards(self) -> list[tuple[str, str, int]]:
        """``(split, shard, images)`` of the manifest (after ``assign_styles``; read each time, as
        ``assign_styles`` may make it again during the run)."""
        from ..stages.assign_styles import read_shard_list

        return read_shard_list(self.paths.shards_tsv)

    def expected_files(self) -> dict[str, str]:
        """Final shard (relative to ``output_dir``) -> planned fingerprint."""
        return {
            self.paths.shard(split, shard).relative_to(self.paths.root).as_posix(): self.shard_fingerprint(split, shard)
            for split, shard, _ in self.shards
        }

"""Typed settings of the workflow's jobs, built from the configuration in one place.

Jobs take one settings object instead of long positional lists. :meth:`StylizeSettings.identity`
names the settings that decide a shard's pixels (see :mod:`adain.stages.fingerprints`); the others only
change where or how fast a job works.

Defaults live in one place, the workflow's schema (``workflow/schemas/config.schema.yaml``):
validation fills them into the configuration, and ``from_config`` reads every key without a
fallback. :func:`config_defaults` gives the schema's defaults (for code that builds settings
without a configuration file: tests, benchmarks); ``StylizeSettings.defaults(preset="64")`` is
those defaults with some fields replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .fingerprints import numerics, shard_identity

__all__ = [
    "config_defaults",
    "SCHEMA",
    "StylizeSettings",
    "PackSettings",
    "IndexSettings",
    "PaintingSettings",
    "ManifestSettings",
    "RunSettings",
]

#: Methods without a configuration section of parameters (the filters have one each).
_NO_PARAMETERS = ("adain", "none")

#: The configuration's schema: every key, its type and its default.
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def config_defaults(**overrides) -> dict:
    """A configuration of the schema's defaults (validated as the workflow validates), with
    ``overrides`` (configuration keys) applied first."""
    from snakemake.utils import validate

    if not SCHEMA.is_file():
        raise FileNotFoundError(f"the configuration schema {SCHEMA} is missing (run from a clone of the repository)")
    config = dict(overrides)
    validate(config, str(SCHEMA), set_default=True)
    return config


def output_folders(config: dict) -> tuple[str, str]:
    """(the folder a run writes, the S3 prefix that keeps its durable copy or "").

    ``output_dir: s3://bucket/prefix`` is written through its local copy, ``local_copy`` (""
    = ``.snakemake/storage/s3/<bucket>/<prefix>``, where Snakemake's S3 plugin keeps its copies).
    """
    output = str(config["output_dir"])
    if not output.startswith("s3://"):
        return output, ""
    storage = output.rstrip("/")
    return config["local_copy"] or str(Path(".snakemake", "storage", "s3", storage[len("s3://") :])), storage


@dataclass(frozen=True)
class StylizeSettings:
    """How ``stylize_shard`` makes a shard.

    Pixel-deciding: ``preset``, ``stylize_size_64``, ``method``, ``method_params``, ``alpha``, ``preserve_color``,
    ``dtype``, ``codec`` and ``jpeg_quality`` (preset ``full``), ``max_pixels`` and
    ``max_preprocessed_pixels`` (which images are rejected), ``decode``, and the numerics: the
    device type, ``cpu_threads`` on the CPU, ``batch_size`` on CUDA, ``channels_last``, ``compile``.
    Speed only: ``workers``, ``checkpoint_images``, ``checkpoint_seconds``, ``device`` index.
    """

    preset: str
    stylize_size_64: int
    method: str
    method_params: dict
    alpha: float
    device: str
    dtype: str
    batch_size: int
    workers: int
    max_pixels: int
    max_preprocessed_pixels: int
    codec: str
    jpeg_quality: int
    checkpoint_images: int
    checkpoint_seconds: float
    cpu_threads: int
    decode: str
    channels_last: bool
    compile: bool
    preserve_color: bool

    @classmethod
    def from_config(cls, config: dict) -> StylizeSettings:
        """The settings of a workflow configuration (validated by the schema)."""
        method = config["method"]
        return cls(
            preset=str(config["preset"]),
            stylize_size_64=int(config["stylize_size_64"]),
            method=method,
            method_params={} if method in _NO_PARAMETERS else dict(config[method]),
            alpha=float(config["alpha"]),
            device=config["device"],
            dtype=config["dtype"],
            batch_size=int(config["batch_size"]),
            workers=int(config["workers"]),
            max_pixels=int(config["max_pixels"]),
            max_preprocessed_pixels=int(config["max_preprocessed_pixels"]),
            codec=config["full_codec"],
            jpeg_quality=int(config["jpeg_quality"]),
            checkpoint_images=int(config["checkpoint_images"]),
            checkpoint_seconds=float(config["checkpoint_seconds"]),
            cpu_threads=int(config["cpu_threads"]),
            decode=config["decode"],
            channels_last=bool(config["channels_last"]),
            compile=bool(config["compile"]),
            preserve_color=bool(config["preserve_color"]),
        )

    @classmethod
    def defaults(cls, **fields) -> StylizeSettings:
        """The schema's defaults with ``fields`` (of this class) replaced."""
        return replace(cls.from_config(config_defaults()), **fields)

    def uses_channels_last(self) -> bool:
        """Whether the convolutions run channels-last (the model's; the filters keep their layout)."""
        return self.channels_last and self.method == "adain"

    def get_preset(self):
        from ..engine.presets import get_preset

        return get_preset(self.preset, self.stylize_size_64)

    @property
    def stored_codec(self) -> str:
        """``raw`` for fixed-size presets, else the configured ``png`` / ``jpeg``."""
        return self.codec if self.preset == "full" else "raw"

    def full_method_params(self) -> dict:
        """The filter's parameters with its defaults filled in (``{}`` for AdaIN)."""
        if self.method == "adain":
            return {}
        from ..core.filters import DEFAULTS

        return {**DEFAULTS.get(self.method, {}), **self.method_params}

    def identity(self, device_type: str, weights_sha256: dict | None, stats_digest: str | None) -> dict:
        """What decides a shard's bytes besides its manifest rows (:func:`adain.stages.fingerprints.shard_identity`)."""
        return shard_identity(
            self.get_preset().describe(),
            self.method,
            self.full_method_params(),
            self.alpha,
            self.dtype,
            self.stored_codec,
            self.jpeg_quality,
            (self.max_pixels, self.max_preprocessed_pixels),
            numerics(device_type, self.cpu_threads, self.batch_size, self.uses_channels_last(), self.compile),
            weights_sha256,
            stats_digest,
            self.decode,
            self.preserve_color and self.method == "adain",
        )


@dataclass(frozen=True)
class PackSettings:
    """How ``pack_shard`` writes the final shard (its second, cheap identity)."""

    compression: str | None
    chunk_images: int = 1  # not configurable: one image per HDF5 chunk (docs/format.md)

    @classmethod
    def from_config(cls, config: dict) -> PackSettings:
        return cls(config["compression"] or None, 1)

    def fingerprint(self) -> str:
        from .fingerprints import pack_fingerprint

        return pack_fingerprint(self.compression, self.chunk_images)


@dataclass(frozen=True)
class IndexSettings:
    """What ``index_images`` lists: ``<content_dir>/<split>/...`` files with these extensions."""

    content_dir: str
    splits: tuple[str, ...]
    extensions: tuple[str, ...]
    val_labels: str | None = None
    class_index: str | None = None

    @classmethod
    def from_config(cls, config: dict) -> IndexSettings:
        return cls(
            str(config["content_dir"]),
            tuple(config["splits"]),
            tuple(config["extensions"]),
            config["val_labels"] or None,
            config["class_index"] or None,
        )


@dataclass(frozen=True)
class PaintingSettings:
    """Which paintings are used (``prepare_paintings``) and how their statistics are made and cached."""

    style_dir: str
    extensions: tuple[str, ...]
    min_side: int
    max_pixels: int
    per_job: int
    cache_dir: str

    @classmethod
    def from_config(cls, config: dict) -> PaintingSettings:
        cache_dir = config["cache_dir"] or str(Path(output_folders(config)[0]) / "cache")
        return cls(
            str(config["style_dir"]),
            tuple(config["extensions"]),
            int(config["min_painting_side"]),
            int(config["max_pixels"]),
            int(config["paintings_per_job"]),
            cache_dir,
        )


@dataclass(frozen=True)
class ManifestSettings:
    """How ``assign_styles`` draws paintings and cuts the splits into shards."""

    seed: int
    shard_size: int
    order: str
    styles_per_image: int

    @classmethod
    def from_config(cls, config: dict) -> ManifestSettings:
        return cls(
            int(config["seed"]),
            int(config["shard_size"]),
            str(config["shard_order"]),
            int(config["styles_per_image"]),
        )

    @classmethod
    def defaults(cls, **fields) -> ManifestSettings:
        """The schema's defaults with ``fields`` (of this class) replaced."""
        return replace(cls.from_config(config_defaults()), **fields)


@dataclass(frozen=True)
class RunSettings:
    """Every setting of a workflow run, built from its configuration in one place
    (:meth:`from_config`); each job takes the part it needs."""

    output_dir: str  # the folder the run writes: the local copy when output_dir names a bucket
    index: IndexSettings
    paintings: PaintingSettings
    manifest: ManifestSettings
    stylize: StylizeSettings
    pack: PackSettings
    weights: tuple[str, str]  # (vgg, decoder): the user's files, read only
    config: dict = field(default_factory=dict, compare=False)  # as given, for the dataset card
    output_storage: str = ""  # s3://bucket/prefix that keeps the durable copy (adain.run.mirror), or ""

    @classmethod
    def from_config(cls, config: dict) -> RunSettings:
        local, storage = output_folders(config)
        return cls(
            local,
            IndexSettings.from_config(config),
            PaintingSettings.from_config(config),
            ManifestSettings.from_config(config),
            StylizeSettings.from_config(config),
            PackSettings.from_config(config),
            (str(config["vgg_weights"]), str(config["decoder_weights"])),
            dict(config),
            storage,
        )

"""Checks made when the workflow loads, before any job runs: a wrong setting fails in seconds,
with every problem listed, instead of hours later in the middle of a run.

Nothing here imports torch at module level: a refusal for a wrong folder or setting comes before
the seconds that importing torch takes (only reading existing weight files needs it).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..files.locking import try_lock
from .paths import RunPaths

__all__ = [
    "PreflightError",
    "check_run",
    "claim_workdir",
    "claim_output_dir",
    "ensure_weights",
    "command_line_booleans",
]

log = logging.getLogger(__name__)


class PreflightError(Exception):
    """The run cannot start: ``problems`` lists every problem found, each with its fix."""

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("the run cannot start:\n  - " + "\n  - ".join(self.problems))


def _has_image(folder: Path, suffixes: set[str]) -> bool:
    for _, _, files in os.walk(folder):
        if any(os.path.splitext(f)[1].lower() in suffixes for f in files):
            return True
    return False


def _writable(path: Path) -> bool:
    """Whether ``path`` exists as a writable folder or could be created (nothing is created)."""
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def command_line_booleans(config: dict, schema: dict) -> dict:
    """``config`` with the yes/no keys of ``schema`` given as words (``--config preserve_color=true``
    arrives as the string ``"true"``; Snakemake reads only ``True``) turned into booleans, at the
    top level and in nested sections; anything else is left for the schema to refuse."""
    fixed = dict(config)
    for key, spec in (schema.get("properties") or {}).items():
        value = fixed.get(key)
        if spec.get("type") == "boolean" and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            fixed[key] = value.strip().lower() in _TRUE
        elif spec.get("type") == "object" and isinstance(value, dict):
            fixed[key] = command_line_booleans(value, spec)
    return fixed


def check_run(config: dict, more_problems: Sequence[str] = ()) -> list[str]:
    """Inputs, weights and output folder of a workflow configuration.

    Weight files that do not exist yet are left to the download rules; existing ones must be the
    right networks (a swapped, truncated or foreign file fails here). ``more_problems`` (e.g.
    :func:`adain.evaluation.preflight.evaluation_problems`) are reported with these. The weights are
    read only once everything else is right: reading them imports torch (seconds), and a wrong
    folder or setting is refused before that.

    Returns:
        Warnings for the console: weights that are random stand-ins (``adain weights random``).

    Raises:
        PreflightError: listing every problem (those of the weights once the others are mended).
    """
    problems = []
    suffixes = {"." + e.lower().lstrip(".") for e in config["extensions"]}
    content = Path(config["content_dir"])
    splits = [content / s for s in config["splits"] if (content / s).is_dir()]
    if not content.exists():
        problems.append(f"content_dir {content} does not exist")
    elif not content.is_dir():
        problems.append(f"content_dir {content} is a file, not a folder")
    elif not splits:
        problems.append(f"content_dir {content} has none of the splits {config['splits']}")
    elif not any(_has_image(s, suffixes) for s in splits):
        problems.append(
            f"content_dir {content} holds no images with extensions {sorted(suffixes)} in {config['splits']}"
        )
    adain = config["method"] == "adain"  # the filters need neither paintings nor weights
    style = Path(config["style_dir"])
    if adain and not style.exists():
        problems.append(f"style_dir {style} does not exist")
    elif adain and not style.is_dir():
        problems.append(f"style_dir {style} is a file, not a folder")
    elif adain and not _has_image(style, suffixes):
        problems.append(f"style_dir {style} holds no images with extensions {sorted(suffixes)}")
    weight_files = []
    for key, kind in (("vgg_weights", "vgg"), ("decoder_weights", "decoder")) if adain else ():
        path = Path(config[key])
        if path.is_dir():
            problems.append(f"{key}: {path} is a folder, not a weights file")
        elif path.exists():
            weight_files.append((key, path, kind))
    if not adain and config["preserve_color"]:
        problems.append(f"preserve_color needs method adain (method {config['method']} has no painting)")
    if not adain and int(config["styles_per_image"]) > 1:
        problems.append(
            f"styles_per_image {config['styles_per_image']} needs method adain: method "
            f"{config['method']} would store the same pixels for every sample"
        )
    problems += list(more_problems)
    problems += _output_problems(config)
    if problems:
        raise PreflightError(problems)
    problems, standins = _check_weights(weight_files)
    if problems:
        raise PreflightError(problems)
    if not standins:
        return []
    from ..stages.counts import RANDOM_STANDIN_WARNING, STANDIN_HINT

    return [f"{', '.join(standins)}: {RANDOM_STANDIN_WARNING} ({STANDIN_HINT}); the images will not be meaningful"]


def _check_weights(weight_files: Sequence[tuple[str, Path, str]]) -> tuple[list[str], list[str]]:
    """``(config key, path, kind)`` of existing weight files: each must load as its network.
    Returns the problems and the files that are random stand-ins."""
    from ..core.model import WeightsError, is_random_standin, load_state_dict_file

    problems, standins = [], []
    for key, path, kind in weight_files:
        try:
            if is_random_standin(load_state_dict_file(path, kind)):
                standins.append(str(path))
        except WeightsError as error:
            problems.append(f"{key}: {error}")
    return problems, standins


def _output_problems(config: dict) -> list[str]:
    from ..files.objectstore import ObjectStoreError, is_s3_url, split_s3_url
    from ..stages.settings import output_folders

    output, (local, storage) = config["output_dir"], output_folders(config)
    if is_s3_url(output):
        try:
            split_s3_url(output)
        except ObjectStoreError as error:
            return [f"output_dir: {error}"]
    name = "local_copy" if storage else "output_dir"
    if not _writable(Path(local)):
        return [f"{name} {local} cannot be written"]
    return _nesting_problems(name, Path(local), config)


def _nesting_problems(name: str, output: Path, config: dict) -> list[str]:
    """An output folder inside an input folder (its files would be indexed as images or
    paintings, a split's subfolder become a class) or around one (a clean-up would reach the
    user's files) is refused, naming both."""
    out = output.resolve()
    problems = []
    for key in ("content_dir", "style_dir"):
        folder = Path(config[key]).resolve()
        if out == folder or folder in out.parents:
            problems.append(f"{name} {output} is inside {key} {config[key]}: choose an output folder outside it")
        elif out in folder.parents:
            problems.append(f"{key} {config[key]} is inside {name} {output}: keep the inputs outside the output folder")
    return problems


def claim_workdir(snakemake_dir: str | Path = ".snakemake") -> IO | None:
    """Hold an exclusive lock on ``<snakemake_dir>/adain-run.lock`` for this process's lifetime.

    The operating system releases it when the process dies, SIGKILL included. So if this process
    gets it, no other run of the workflow is alive in this folder, and Snakemake's own locks in
    ``<snakemake_dir>/locks`` can only be left over from a killed run: they are removed, which
    spares the user ``snakemake --unlock``. If another live run holds it, nothing is touched and
    Snakemake's own lock check keeps the two runs apart.

    Returns:
        The open lock file (keep a reference for the life of the run), or ``None`` when another
        run holds it.
    """
    folder = Path(snakemake_dir)
    handle = try_lock(folder / "adain-run.lock")
    if handle is None:
        return None
    stale = folder / "locks"
    if stale.is_dir() and any(stale.iterdir()):
        log.warning("removing Snakemake locks left by a killed run in %s", stale)
        shutil.rmtree(stale)
    return handle


def ensure_weights(config: dict) -> list[Path]:
    """Download the release weights that are missing, each into a path that does not exist yet.

    An existing file is never touched: weights are inputs of the workflow, never outputs of a rule,
    so Snakemake can neither rerun their download nor delete them after a failed job.

    Returns:
        The files downloaded.

    Raises:
        PreflightError: a download failed (offline, say); the message says which file to put where.
    """
    if config["method"] != "adain":
        return []
    from ..core.model import WeightsError
    from ..core.release import RELEASE_FILES, RELEASE_URL
    from ..core.weights import download_weights

    kinds = {kind: name for name, kind in RELEASE_FILES.items()}
    downloaded, problems = [], []
    for key, kind in (("vgg_weights", "vgg"), ("decoder_weights", "decoder")):
        target = Path(config[key])
        if target.exists():
            continue
        log.warning("%s %s is missing: downloading it", key, target)
        try:
            download_weights(f"{RELEASE_URL}/{kinds[kind]}", target, kind)
            downloaded.append(target)
        except FileExistsError:
            continue  # another run put it there meanwhile
        except WeightsError as error:
            problems.append(f"{key}: {error}")
    if problems:
        raise PreflightError(problems)
    return downloaded


def claim_output_dir(output_dir: str | Path) -> IO:
    """One live run per output folder, whichever clone or working directory starts it.

    Holds ``<output_dir>/.adain-run.lock`` (``flock``, dropped by the system when the run dies,
    SIGKILL included) and removes the file when this process exits normally.

    Raises:
        PreflightError: another live run holds the folder (naming its process and folder).
    """
    import atexit

    path = RunPaths(output_dir).run_lock
    handle = try_lock(path)
    if handle is None:
        try:
            holder = path.read_text().strip() or "another process"
        except OSError:
            holder = "another process"
        raise PreflightError(
            f"output_dir {output_dir} is in use by a live run ({holder}); wait for it to finish, "
            "or use another output_dir"
        )
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} from {os.getcwd()}\n")
    handle.flush()

    def release() -> None:
        path.unlink(missing_ok=True)
        handle.close()

    atexit.register(release)
    return handle

"""Checks made when the workflow loads, before any job runs: a wrong setting fails in seconds,
with every problem listed, instead of hours later in the middle of a run."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import IO

from .locking import try_lock
from .model import WeightsError, load_state_dict_file

__all__ = ["PreflightError", "check_run", "claim_workdir"]

log = logging.getLogger(__name__)


class PreflightError(Exception):
    """The run cannot start; the message lists every problem found."""


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


def check_run(config: dict) -> None:
    """Inputs, weights and output folder of a workflow configuration.

    Weight files that do not exist yet are left to the download rules; existing ones must be the
    right networks (a swapped, truncated or foreign file fails here).

    Raises:
        PreflightError: listing every problem.
    """
    problems = []
    suffixes = {"." + e.lower().lstrip(".") for e in config["extensions"]}
    content = Path(config["content_dir"])
    splits = [content / s for s in config["splits"] if (content / s).is_dir()]
    if not content.is_dir():
        problems.append(f"content_dir {content} does not exist")
    elif not splits:
        problems.append(f"content_dir {content} has none of the splits {config['splits']}")
    elif not any(_has_image(s, suffixes) for s in splits):
        problems.append(f"content_dir {content} holds no images with extensions {sorted(suffixes)} in {config['splits']}")
    adain = config.get("method", "adain") == "adain"  # the filters need neither paintings nor weights
    style = Path(config["style_dir"])
    if adain and not style.is_dir():
        problems.append(f"style_dir {style} does not exist")
    elif adain and not _has_image(style, suffixes):
        problems.append(f"style_dir {style} holds no images with extensions {sorted(suffixes)}")
    for key, kind in (("vgg_weights", "vgg"), ("decoder_weights", "decoder")) if adain else ():
        path = Path(config[key])
        if path.exists():
            try:
                load_state_dict_file(path, kind)
            except WeightsError as error:
                problems.append(f"{key}: {error}")
    if not _writable(Path(config["output_dir"])):
        problems.append(f"output_dir {config['output_dir']} cannot be written")
    if problems:
        raise PreflightError("the run cannot start:\n  - " + "\n  - ".join(problems))


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

"""Where ``adain stylize`` finds the pytorch-AdaIN weights when ``--vgg``/``--decoder`` are not given:
where the workflow finds them, from any working folder.

The workflow reads ``vgg_weights`` and ``decoder_weights`` of its checkout's ``config.yaml``
(``weights/vgg_normalised.pth`` and ``weights/decoder.pth``, below the folder it runs in: the
checkout). ``adain stylize`` looks in the current folder's ``weights/`` first, then at the paths
the checkout's ``config.yaml`` names, read below the checkout (when this package is installed
from one, ``pip install -e .``). Found nowhere, the error names every place it looked and how to
get the files. Reads a YAML file at most; imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from ..core.release import DEFAULT_WEIGHTS_DIR, RELEASE_FILES, RELEASE_URL

__all__ = ["checkout_root", "weights_candidates", "find_weights", "WeightsNotFound"]

#: The workflow's config key of each network's weights.
CONFIG_KEYS = {"vgg": "vgg_weights", "decoder": "decoder_weights"}


class WeightsNotFound(FileNotFoundError):
    """No weights file at any of the places looked (the message names them and the way out)."""


def checkout_root() -> Path | None:
    """The checkout this package runs from (the folder with the workflow's ``Snakefile`` and
    ``config.yaml``), or ``None`` for an installed copy."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "Snakefile").is_file() and (root / "config.yaml").is_file() else None


def _file_name(kind: str) -> str:
    return next(name for name, found in RELEASE_FILES.items() if found == kind)


def weights_candidates(kind: str, cwd: Path | None = None, checkout: Path | None = None) -> list[tuple[Path, str]]:
    """``(path, where it comes from)`` in the order they are tried: the current folder's
    ``weights/``, then the checkout's ``config.yaml`` entry (relative paths read below the
    checkout). ``checkout``: default :func:`checkout_root`."""
    cwd = Path.cwd() if cwd is None else cwd
    candidates = [(cwd / DEFAULT_WEIGHTS_DIR / _file_name(kind), "the current folder's weights/")]
    checkout = checkout_root() if checkout is None else checkout
    if checkout is not None:
        import yaml

        try:
            configured = (yaml.safe_load((checkout / "config.yaml").read_text()) or {}).get(CONFIG_KEYS[kind])
        except (OSError, yaml.YAMLError):
            configured = None
        path = checkout / (configured or f"{DEFAULT_WEIGHTS_DIR}/{_file_name(kind)}")
        candidates.append((path, f"the workflow's: {CONFIG_KEYS[kind]} of {checkout / 'config.yaml'}"))
    seen, unique = set(), []
    for path, where in candidates:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append((path, where))
    return unique


def find_weights(kind: str, given: str | Path | None = None, **where) -> Path:
    """The weights file of ``kind`` (``vgg`` or ``decoder``): ``given`` if set (it must exist),
    else the first of :func:`weights_candidates` that exists.

    Raises:
        WeightsNotFound: naming each place looked, the release URL, ``adain weights download`` and
            ``adain weights random``.
    """
    name, flag = _file_name(kind), f"--{kind}"
    if given is not None:
        looked = [(Path(given), f"given with {flag}")]
    else:
        looked = weights_candidates(kind, **where)
    for path, _ in looked:
        if path.is_file():
            return path
    if given is not None:
        missing = f"{given}: file not found (given with {flag})"
    else:
        missing = f"{name} not found; looked at " + "; ".join(f"{path} ({origin})" for path, origin in looked)
    raise WeightsNotFound(
        f"{missing}. Get the pytorch-AdaIN release weights with `adain weights "
        f"download DIR` ({RELEASE_URL}/{name}), or try the tool with random stand-ins, `adain weights random DIR` "
        f"(the images are then not meaningful); run from the folder holding weights/, or give {flag}."
    )

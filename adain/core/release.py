"""Where the pytorch-AdaIN release weights come from and where this project keeps them: the one
place for the release URL, its file names and the default weights folder (the workflow's
``config.yaml``, ``adain stylize`` and ``adain weights`` all use ``weights/``). Imports nothing."""

__all__ = ["RELEASE_URL", "RELEASE_FILES", "DEFAULT_WEIGHTS_DIR", "default_weights_path"]

RELEASE_URL = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"
#: release file name -> network kind
RELEASE_FILES = {"vgg_normalised.pth": "vgg", "decoder.pth": "decoder"}
DEFAULT_WEIGHTS_DIR = "weights"


def default_weights_path(kind: str) -> str:
    """``weights/vgg_normalised.pth`` or ``weights/decoder.pth``."""
    name = next(name for name, found in RELEASE_FILES.items() if found == kind)
    return f"{DEFAULT_WEIGHTS_DIR}/{name}"

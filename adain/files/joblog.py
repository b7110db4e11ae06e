"""A workflow job's log: its stderr and logging in its own file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

__all__ = ["logged"]


@contextlib.contextmanager
def logged(log_file: str | Path) -> Iterator[None]:
    """Send stderr (progress bars, warnings, tracebacks) and logging of one job to ``log_file``."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", buffering=1, encoding="utf-8") as handle, contextlib.redirect_stderr(handle):
        logging.basicConfig(
            stream=handle, level=logging.INFO, force=True, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        try:
            yield
        except BaseException:
            logging.getLogger("adain").exception("job failed")
            raise

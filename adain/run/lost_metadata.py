"""One line, not one warning per file, when Snakemake's job records are gone.

``snakemake --report`` reads each output's job record (rule, start and end time) from
``.snakemake/metadata``. A fresh clone, a Colab VM or a deleted ``.snakemake/`` has none, and Snakemake
then warns once per output ("Missing metadata for file ..."): dozens of lines on a small run,
thousands at ImageNet scale, though nothing is wrong: whether an output is current is recorded in the
output itself (docs/resume.md), and the report still holds every result. :class:`LostMetadataFilter`
turns them into one line that says so.
"""

from __future__ import annotations

import logging

__all__ = ["LostMetadataFilter", "install_lost_metadata_filter", "LOST_METADATA_LINE"]

#: What Snakemake's warning starts with (snakemake.report.auto_report).
SNAKEMAKE_WARNING = "Missing metadata for file"

LOST_METADATA_LINE = (
    "adain: Snakemake holds no job records for outputs of this run (the first: {example}), as .snakemake/ was "
    "deleted or another clone or machine made them; nothing is wrong, and the report holds every result, "
    "without Snakemake's job times for those outputs"
)


class LostMetadataFilter(logging.Filter):
    """Drops Snakemake's per-file "Missing metadata" warnings; the first becomes one summary line."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(SNAKEMAKE_WARNING):
            return True
        self.count += 1
        if self.count > 1:
            return False
        example = message[len(SNAKEMAKE_WARNING) :].split(". Maybe", 1)[0].strip()
        record.msg, record.args = LOST_METADATA_LINE.format(example=example), ()
        return True


def install_lost_metadata_filter(logger_name: str = "snakemake.logging") -> LostMetadataFilter:
    """Put a :class:`LostMetadataFilter` on Snakemake's logger (once per process)."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, LostMetadataFilter):
            return existing
    installed = LostMetadataFilter()
    logger.addFilter(installed)
    return installed

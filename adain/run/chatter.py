"""Snakemake's scheduler chatter left out of a run's console.

With each rule's ``message:`` and the profile's ``quiet: [host, reason, progress]``, a job is one
line. Snakemake still says, around every job, how it schedules ("Select jobs to execute...",
"Execute 2 jobs...", "Removing temporary output ...", "Updating checkpoint dependencies."): lines
that Snakemake's ``quiet`` settings do not reach and that tell a user nothing about their dataset.
:class:`SchedulerChatterFilter` drops exactly those lines; errors, warnings, the jobs and the
run's own lines pass.
"""

from __future__ import annotations

import logging

__all__ = ["SchedulerChatterFilter", "install_chatter_filter", "is_chatter", "NOTHING_TO_BE_DONE"]

#: Whole messages of Snakemake's scheduler (snakemake.scheduling.job_scheduler, jobs, dag).
_EXACT = {
    "Select jobs to execute...",
    "DAG of jobs will be updated after completion.",
    "Updating checkpoint dependencies.",
}
#: Messages that start so (the rest names a file or a count).
_PREFIXES = ("Removing temporary output ",)


def is_chatter(message: str) -> bool:
    """Whether ``message`` is one of Snakemake's scheduling lines."""
    if message in _EXACT or message.startswith(_PREFIXES):
        return True
    words = message.split()
    return len(words) == 3 and words[0] == "Execute" and words[1].isdigit() and words[2] in ("job...", "jobs...")


#: What Snakemake says when every target is current (then it runs no ``onsuccess``).
NOTHING_TO_BE_DONE = "Nothing to be done"


class SchedulerChatterFilter(logging.Filter):
    """Drops Snakemake's INFO records that only say how it schedules (see the module docstring),
    and notes whether Snakemake found nothing to do (``nothing_to_be_done``), so that the run's
    end lines can still be said (:meth:`adain.run.start.RunStart.finish`)."""

    def __init__(self) -> None:
        super().__init__()
        self.nothing_to_be_done = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        message = record.getMessage()
        if message.startswith(NOTHING_TO_BE_DONE):
            self.nothing_to_be_done = True
        return not is_chatter(message)


def install_chatter_filter(logger_name: str = "snakemake.logging") -> SchedulerChatterFilter:
    """Put a :class:`SchedulerChatterFilter` on Snakemake's logger (once per process)."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, SchedulerChatterFilter):
            return existing
    installed = SchedulerChatterFilter()
    logger.addFilter(installed)
    return installed

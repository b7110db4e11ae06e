"""Snakemake's scheduling lines are left out of the console; everything else passes."""

import logging

from adain.run.chatter import install_chatter_filter, is_chatter


def test_scheduling_lines_are_dropped_and_the_rest_passes(caplog):
    name = "adain-test-chatter"
    installed = install_chatter_filter(name)
    assert install_chatter_filter(name) is installed  # once per process
    logger = logging.getLogger(name)
    dropped = [
        "Select jobs to execute...",
        "Execute 1 jobs...",
        "Execute 12 jobs...",
        "Removing temporary output results/demo/stylized/val/00000.h5.",
        "DAG of jobs will be updated after completion.",
        "Updating checkpoint dependencies.",
    ]
    kept = [
        "Building DAG of jobs...",
        "Execute the plan",  # not Snakemake's count of jobs
        "adain: stylized val/00000: 6 images in 4.7 s",
        "Job 18: stylize_shard val/00000 (log: results/demo/logs/stylize_shard/val/00000.log)",
    ]
    with caplog.at_level(logging.INFO, logger=name):
        for message in dropped + kept:
            logger.info(message)
        logger.warning("Select jobs to execute...")  # a warning always passes
    assert [r.getMessage() for r in caplog.records] == kept + ["Select jobs to execute..."]
    assert all(is_chatter(m) for m in dropped) and not any(is_chatter(m) for m in kept)
    assert not installed.nothing_to_be_done
    with caplog.at_level(logging.INFO, logger=name):
        logger.info("Nothing to be done (all requested files are present and up to date).")
    assert installed.nothing_to_be_done and caplog.records[-1].getMessage().startswith("Nothing to be done")

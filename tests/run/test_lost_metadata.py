"""Snakemake's per-file "Missing metadata" warnings become one line."""

import logging

from adain.run.lost_metadata import install_lost_metadata_filter

SNAKEMAKE = (
    "Missing metadata for file {}. Maybe metadata was deleted or it was created using an older version of "
    "Snakemake. This is a non critical warning."
)


def test_many_missing_metadata_warnings_become_one_line_and_others_pass(caplog):
    name = "adain-test-lost-metadata"
    installed = install_lost_metadata_filter(name)
    assert install_lost_metadata_filter(name) is installed  # once per process
    logger = logging.getLogger(name)
    with caplog.at_level(logging.INFO, logger=name):
        for i in range(25):
            logger.warning(SNAKEMAKE.format(f"out/shards/val/val-{i:05d}.h5"))
        logger.warning("Building DAG of jobs...")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and lines[1] == "Building DAG of jobs..."
    assert "no job records" in lines[0] and "(the first: out/shards/val/val-00000.h5)" in lines[0]
    assert installed.count == 25

"""Atomic writes: a failed write leaves the target as it was; a killed writer's temporary file goes
with the next write of the same target, never a live writer's."""

import os
import signal
import subprocess
import sys

import pytest

from adain.files.atomic import atomic_path, atomic_write_text


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "summary.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed half way")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_a_killed_writers_temporary_file_goes_with_the_next_write(tmp_path):
    target = tmp_path / "sample_grid.png"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from adain.files.atomic import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_bytes(b'half'); print(tmp, flush=True); time.sleep(60)",
            str(target),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    abandoned = writer.stdout.readline().strip()
    live = tmp_path / f".sample_grid.png.tmp-{os.getpid()}-0123abcd"  # a live process's (this one)
    live.write_bytes(b"live")
    other = tmp_path / ".other.png.tmp-999999999-0123abcd"  # another target's: not this write's business
    other.write_bytes(b"x")
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert os.path.exists(abandoned)
    atomic_write_text(target, "grid")
    assert not os.path.exists(abandoned) and live.exists() and other.exists()
    assert target.read_text() == "grid"

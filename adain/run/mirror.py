"""An output folder whose durable copy is an S3 prefix (``output_dir: s3://bucket/prefix``).

The workflow writes, reconciles and reads a local working copy (``local_copy``) as it does any
output folder; the bucket is kept equal to it, so a run on a fresh machine (a preempted spot VM, a
new Colab session) starts from what the bucket holds:

* **pull**, when the run starts: whatever the bucket holds and the local copy lacks is fetched
  (a local file that differs from the bucket's is fetched too when the bucket's is newer), before
  the folder is reconciled with the plan, so the fingerprints that decide what is current are
  read from the bucket's files;
* **push**, every ``storage_sync_seconds`` while the run goes on and once more when it ends:
  new and changed files go up, and files the local copy no longer holds (a temporary staging
  shard once packed, a finished shard's checkpoints, shards moved to ``stale/`` by a settings
  change) are removed from the bucket, so stale shards are never mixed with current ones;
* a running shard's checkpoints (``<shard>.h5.parts/``: the staging work file and its parts) are
  copied by the stylize job itself, at each checkpoint, while its work file is quiet
  (:func:`checkpoint_copier`); pushes leave them to it.

Temporary files of atomic writes and lock files are never copied. Nothing outside the prefix is
listed, written or removed, and only the run's own outputs live inside it.

One live run per bucket copy, whichever machine runs it: a run holds a lease (:data:`LEASE`, renewed
at every push, removed at the end); another run refuses to start while the lease is younger than
:attr:`OutputMirror.lease_seconds` by the server's clock, and takes it over once a killed run's
lease has aged.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..files.objectstore import ObjectStoreError, S3Folder
from ..shards.checkpoint import PARTS_SUFFIX, WORK_FILE

__all__ = ["OutputMirror", "Transfer", "checkpoint_copier", "is_copied", "lease_seconds", "LEASE"]

#: The live run's lease, below the prefix (never a file of the local copy).
LEASE = ".adain-run.lease"

log = logging.getLogger("adain")


def lease_seconds(interval: float) -> float:
    """How long a run's lease holds without renewal, for pushes every ``interval`` seconds (a
    live run renews it at least every interval)."""
    return max(10.0, 4 * interval)


def is_copied(relative: str) -> bool:
    """Whether a file below the output folder belongs in its bucket copy: not a temporary file of
    an atomic write (``.<name>.tmp-<pid>-<id>``) nor a lock file."""
    name = relative.rsplit("/", 1)[-1]
    return relative != LEASE and not (name.endswith(".lock") or (name.startswith(".") and ".tmp-" in name))


def _in_parts(relative: str) -> bool:
    return any(part.endswith(PARTS_SUFFIX) for part in relative.split("/")[:-1])


@dataclass
class Transfer:
    """What one pull or push moved."""

    files: int = 0
    bytes: int = 0
    removed: int = 0

    def __str__(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return f"{self.files} file(s), {self.bytes / 1e6:.1f} MB{removed}"


class OutputMirror:
    """``local`` kept equal to the S3 prefix ``folder`` (see the module docstring).

    Args:
        folder: the bucket copy (:class:`adain.files.objectstore.S3Folder`).
        local: the local working copy (created if missing).
        interval: seconds between pushes while :meth:`start` runs.
    """

    def __init__(self, folder: S3Folder, local: str | Path, interval: float = 30.0) -> None:
        self.folder, self.local, self.interval = folder, Path(local), interval
        self._in_bucket: dict[str, tuple[int, int]] = {}  # key -> (size, mtime_ns) of the local file it holds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pushed = Transfer()
        self.owner = f"{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:8]})"
        self.lease_seconds = lease_seconds(interval)
        self._leased = 0.0  # time.monotonic() of the last renewal; 0: not held

    def claim(self) -> None:
        """Take the lease of the bucket copy.

        Raises:
            ObjectStoreError: another run renewed it less than ``lease_seconds`` ago.
        """
        held = self.folder.read_text(LEASE)
        if held is not None and held[0] != self.owner and held[1] < self.lease_seconds:
            raise ObjectStoreError(
                f"{self.folder.url} is in use by a live run ({held[0]}, seen {held[1]:.0f} s ago); wait for it "
                f"to finish, or, if that machine is gone, start again in {self.lease_seconds - held[1]:.0f} s"
            )
        self._renew(force=True)

    def _renew(self, force: bool = False) -> None:
        if force or (self._leased and time.monotonic() - self._leased >= self.interval):
            self.folder.put_text(LEASE, self.owner)
            self._leased = time.monotonic()

    def release(self) -> None:
        if self._leased:
            self.folder.delete([LEASE])
            self._leased = 0.0

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.local).as_posix()

    def pull(self, records_only: bool = False) -> Transfer:
        """Fetch what the bucket holds and the local copy lacks (or holds older).

        ``records_only``: shard and checkpoint files (``.h5``, ``.npz``) become empty stand-ins
        with the bucket's times, enough for ``adain status``; everything else is fetched."""
        done = Transfer()
        for key, stored in sorted(self.folder.list().items()):
            if not is_copied(key):
                continue
            if ".." in key.split("/") or key.startswith("/"):
                log.warning("%s/%s: not a file name below the folder; left in the bucket", self.folder.url, key)
                continue
            path = self.local / key
            if records_only and key.endswith((".h5", ".npz")):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
                os.utime(path, (stored.mtime, stored.mtime))
                continue
            try:
                local = path.stat()
            except FileNotFoundError:
                local = None
            if local is not None and (local.st_size == stored.size or local.st_mtime > stored.mtime):
                if local.st_size == stored.size and local.st_mtime <= stored.mtime + 1:
                    self._in_bucket[key] = (local.st_size, local.st_mtime_ns)
                continue  # equal, or newer here: the next push sends it
            self.folder.download(key, path)
            local = path.stat()
            self._in_bucket[key] = (local.st_size, local.st_mtime_ns)
            done.files, done.bytes = done.files + 1, done.bytes + local.st_size
        return done

    def push(self) -> Transfer:
        """Send new and changed files up; remove from the bucket what the local copy no longer
        holds. Checkpoint folders are the stylize jobs' (:func:`checkpoint_copier`)."""
        done = Transfer()
        self._renew()
        stored = self.folder.list()  # before the walk: a key listed and then not found was removed
        present = set()
        for base, folders, files in os.walk(self.local):
            folders.sort()
            for name in sorted(files):
                path = Path(base, name)
                key = self._relative(path)
                if not is_copied(key):
                    continue
                present.add(key)
                if _in_parts(key):
                    continue
                try:
                    local = path.stat()
                except FileNotFoundError:  # removed meanwhile (a temporary shard, a move to stale/)
                    present.discard(key)
                    continue
                state = (local.st_size, local.st_mtime_ns)
                if key in stored and self._in_bucket.get(key) == state:
                    continue
                self._renew()  # a long push (a large shard, a move to stale/) keeps the lease
                try:
                    self.folder.upload(path, key)
                except FileNotFoundError:
                    present.discard(key)
                    continue
                self._in_bucket[key] = state
                done.files, done.bytes = done.files + 1, done.bytes + local.st_size
        gone = sorted(k for k in stored if is_copied(k) and k not in present and not (self.local / k).exists())
        if gone:
            self.folder.delete(gone)
            for key in gone:
                self._in_bucket.pop(key, None)
        done.removed = len(gone)
        self.pushed.files += done.files
        self.pushed.bytes += done.bytes
        self.pushed.removed += done.removed
        return done

    def start(self) -> None:
        """Push every ``interval`` seconds on a background thread until :meth:`finish`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._keep_pushing, name="adain-bucket", daemon=True)
            self._thread.start()

    def _keep_pushing(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.push()
            except Exception as error:  # noqa: BLE001 - the bucket lags; the next push tries again
                log.warning(
                    "copying %s to %s failed (%s); trying again in %.0f s",
                    self.local,
                    self.folder.url,
                    error,
                    self.interval,
                )

    def finish(self) -> Transfer:
        """Stop the background pushes, push once more and give the lease back (raises if the
        bucket cannot be reached)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.push()
        self.release()
        return self.pushed


def checkpoint_copier(url: str, local_root: str | Path) -> Callable[[Path], None]:
    """What a stylize job calls after each checkpoint of a shard whose output folder lives in the
    bucket ``url``: the parts folder (its work file first, then the parts that vouch for its
    images) goes up while the job's writer waits, so the bucket holds a consistent checkpoint. A
    failed copy is logged and the job goes on (the local checkpoint stands; the next one tries
    again)."""
    folder, root = S3Folder(url), Path(local_root)
    sent: set[str] = set()

    def copy(parts: Path) -> None:
        try:
            work = parts / WORK_FILE
            if work.exists():
                folder.upload(work, work.relative_to(root).as_posix())
            for part in sorted(parts.glob("*.npz")):
                key = part.relative_to(root).as_posix()
                if key not in sent:
                    folder.upload(part, key)
                    sent.add(key)
        except Exception as error:  # noqa: BLE001 - the bucket lags behind this job's disk only
            log.warning("checkpoint of %s not copied to %s (%s)", parts, url, error)

    return copy

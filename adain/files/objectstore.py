"""An S3 prefix used like a folder: list, upload, download and delete files below it.

The connection is Snakemake's own S3 storage plugin's (``snakemake-storage-plugin-s3``): inside
a workflow run the provider Snakemake made from ``--storage-s3-*`` (or its environment variables
``SNAKEMAKE_STORAGE_S3_ENDPOINT_URL``, ``..._ACCESS_KEY``, ``..._SECRET_KEY``, ``..._REGION``);
elsewhere (``adain status s3://...``, a stylize job) one built from those environment variables,
and then from boto3's usual credential chain (``AWS_*`` variables, ``~/.aws``).

Keys are the files' paths relative to the prefix, with ``/``; nothing outside the prefix is ever
listed, written or deleted.
"""

from __future__ import annotations

import logging
import os
import posixpath
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .atomic import atomic_path

__all__ = [
    "S3_SETTINGS",
    "ObjectStoreError",
    "S3Folder",
    "StoredFile",
    "is_s3_url",
    "split_s3_url",
    "s3_provider",
    "export_s3_settings",
]

log = logging.getLogger(__name__)

_MTIME = "adain-mtime-ns"  # object metadata: the file's modification time when it was sent

#: The S3 plugin's settings that its environment variables carry (``SNAKEMAKE_STORAGE_S3_<NAME>``).
S3_SETTINGS = ("endpoint_url", "region", "access_key", "secret_key", "token")


class ObjectStoreError(OSError):
    """An S3 prefix cannot be used (bad URL, unreachable endpoint, refused credentials)."""


@dataclass(frozen=True)
class StoredFile:
    """One object below a prefix: its relative key, size in bytes and modification time (Unix s)."""

    key: str
    size: int
    mtime: float


def is_s3_url(text: str | os.PathLike) -> bool:
    return str(text).startswith("s3://")


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``.

    Raises:
        ObjectStoreError: no bucket, no prefix (a bucket's root is never used as an output
            folder: it may hold other things), or ``..``/empty path segments.
    """
    parsed = urlparse(url)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    if parsed.scheme != "s3" or not bucket:
        raise ObjectStoreError(f"{url}: not an S3 URL (s3://bucket/prefix)")
    if not prefix:
        raise ObjectStoreError(f"{url}: name a folder inside the bucket (s3://{bucket}/sin), not the bucket itself")
    if any(part in ("", ".", "..") for part in prefix.split("/")):
        raise ObjectStoreError(f"{url}: the prefix may not hold empty, '.' or '..' segments")
    return bucket, prefix


def _settings_from_environment() -> dict:
    return {name: os.environ.get(f"SNAKEMAKE_STORAGE_S3_{name.upper()}") or None for name in S3_SETTINGS}


def s3_provider():
    """The S3 plugin's storage provider, configured from its environment variables (see the
    module docstring); what a process outside Snakemake's controller uses."""
    from snakemake_storage_plugin_s3 import StorageProvider, StorageProviderSettings

    given = {k: v for k, v in _settings_from_environment().items() if v is not None}
    local = Path(tempfile.gettempdir()) / f"adain-s3-{os.getuid()}"
    return StorageProvider(local_prefix=local, logger=log, settings=StorageProviderSettings(**given))


def export_s3_settings(provider) -> None:
    """Put ``provider``'s settings into this process's environment (where not set already), so
    that the jobs it starts (locally or through Slurm) reach the same endpoint with the same keys."""
    for name in S3_SETTINGS:
        value = getattr(provider.settings, name, None)
        if value:
            os.environ.setdefault(f"SNAKEMAKE_STORAGE_S3_{name.upper()}", str(value))


class S3Folder:
    """The objects below ``s3://bucket/prefix``.

    Args:
        url: ``s3://bucket/prefix``.
        provider: the S3 plugin's provider (its ``s3c`` boto3 resource is used); ``None``: one
            from the environment (:func:`s3_provider`).
    """

    def __init__(self, url: str, provider=None) -> None:
        self.url = url.rstrip("/")
        self.bucket_name, self.prefix = split_s3_url(self.url)
        self.provider = provider if provider is not None else s3_provider()
        self.bucket = self.provider.s3c.Bucket(self.bucket_name)
        self.client = self.provider.s3c.meta.client

    def _key(self, relative: str) -> str:
        relative = posixpath.normpath(relative)
        if relative.startswith(("../", "/")) or relative in ("..", "."):
            raise ObjectStoreError(f"{relative}: not a file below {self.url}")
        return f"{self.prefix}/{relative}"

    def check(self, create: bool = False) -> None:
        """Fail with a clear message unless the bucket can be reached (created if ``create``)."""
        import botocore.exceptions

        try:
            self.client.head_bucket(Bucket=self.bucket_name)
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket") and create:
                self.client.create_bucket(Bucket=self.bucket_name)
                log.info("created bucket %s", self.bucket_name)
                return
            raise ObjectStoreError(f"{self.url}: the bucket cannot be used ({code or error})") from None
        except botocore.exceptions.BotoCoreError as error:
            endpoint = self.client.meta.endpoint_url
            raise ObjectStoreError(
                f"{self.url}: cannot reach {endpoint} ({error}); set the endpoint and keys with "
                "--storage-s3-endpoint-url/--storage-s3-access-key/--storage-s3-secret-key or "
                "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL/_ACCESS_KEY/_SECRET_KEY"
            ) from None

    def list(self) -> dict[str, StoredFile]:
        """Every object below the prefix, by relative key."""
        found = {}
        for summary in self.bucket.objects.filter(Prefix=self.prefix + "/"):
            relative = summary.key[len(self.prefix) + 1 :]
            if relative and not relative.endswith("/"):
                found[relative] = StoredFile(relative, summary.size, summary.last_modified.timestamp())
        return found

    def upload(self, local: str | Path, relative: str) -> None:
        """Send one file; its modification time goes with it (restored by :meth:`download`, so
        Snakemake sees a pulled folder's files in the order they were made)."""
        mtime_ns = os.stat(local).st_mtime_ns
        self.bucket.upload_file(str(local), self._key(relative), ExtraArgs={"Metadata": {_MTIME: str(mtime_ns)}})

    def download(self, relative: str, local: str | Path) -> None:
        """Fetch one object to ``local``, atomically (a torn download never has the final name),
        with the modification time it was sent with."""
        import shutil

        response = self.bucket.Object(self._key(relative)).get()
        with atomic_path(local) as tmp:
            with open(tmp, "wb") as handle:
                shutil.copyfileobj(response["Body"], handle, 1 << 20)
            mtime_ns = response.get("Metadata", {}).get(_MTIME)
            if mtime_ns and mtime_ns.isdigit():
                os.utime(tmp, ns=(int(mtime_ns), int(mtime_ns)))

    def put_text(self, relative: str, text: str) -> None:
        self.bucket.put_object(Key=self._key(relative), Body=text.encode())

    def read_text(self, relative: str) -> tuple[str, float] | None:
        """An object's text and its age in seconds by the server's clock (no clock of this
        machine is trusted), or ``None`` if there is none."""
        import email.utils

        import botocore.exceptions

        try:
            response = self.bucket.Object(self._key(relative)).get()
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        now = email.utils.parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
        return response["Body"].read().decode(errors="replace"), (now - response["LastModified"]).total_seconds()

    def delete(self, relatives: Iterable[str]) -> None:
        keys = [{"Key": self._key(r)} for r in relatives]
        for start in range(0, len(keys), 1000):  # the API's batch limit
            self.bucket.delete_objects(Delete={"Objects": keys[start : start + 1000], "Quiet": True})

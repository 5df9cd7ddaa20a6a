"""Google Cloud Storage as a store: root ``gs://bucket/prefix``.

Credentials come from Application Default Credentials; ``STORAGE_EMULATOR_HOST`` points the
client at an emulator (fake-gcs-server in the tests). Given dagster-gcp's ``GCSResource``
(``resource_clients``), the store uses the client that resource builds (its project). Large values use resumable uploads and
chunked downloads of ``FLOWASSETS_STORAGE_PART_MB`` each, so memory stays at one chunk. Every
call carries google's own ``Retry`` (429, 5xx, connection resets), bounded in time; uploads are
retried unconditionally because every key is written with the same bytes each time (blobs are
content-addressed, manifests and logs are rewritten whole).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, BinaryIO, Iterator

from ..errors import StorageError
from . import select
from .backend import Backend
from .resource_clients import ResourceClient
from .retry import ProcessLocal, RetryBounds, TransferSizes, failure, join, list_prefix, not_found, split_root

_CLIENTS = ProcessLocal()


def _client_settings() -> tuple:
    names = ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT")
    return ("gs",) + tuple(os.environ.get(n) for n in names)


def _make_client() -> Any:
    from google.cloud import storage

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        project = os.environ.get("GOOGLE_CLOUD_PROJECT") or "flowassets-local"
        return storage.Client(project=project, credentials=AnonymousCredentials())
    return storage.Client()


class GCSBackend(Backend):
    def __init__(self, root: str, client: ResourceClient | None = None):
        self.resource_client = client
        self.bucket_name, self.prefix = split_root(root, "gs")
        if "@" in self.bucket_name:
            raise StorageError("a gs:// root names a bucket and a prefix only; use Application Default "
                               "Credentials (GOOGLE_APPLICATION_CREDENTIALS or workload identity).")
        self.url = f"gs://{self.bucket_name}/{self.prefix}".rstrip("/")

    @property
    def client(self) -> Any:
        if self.resource_client is not None:  # the client GCSResource.get_client() builds
            return _CLIENTS.get(self.resource_client, self.resource_client.build)
        return _CLIENTS.get(_client_settings(), _make_client)

    def _blob(self, key: str, chunked: bool = False) -> Any:
        client = self.client
        chunk = TransferSizes.from_env().part_bytes if chunked else None
        return client.bucket(self.bucket_name).blob(join(self.prefix, key), chunk_size=chunk)

    @staticmethod
    def _retry() -> Any:
        from google.cloud.storage.retry import DEFAULT_RETRY

        bounds = RetryBounds.from_env()
        return DEFAULT_RETRY.with_delay(initial=bounds.initial_backoff_s, maximum=bounds.max_backoff_s,
                                        multiplier=2.0).with_timeout(bounds.total_seconds)

    @staticmethod
    def _timeout() -> tuple[float, float]:
        bounds = RetryBounds.from_env()
        return (bounds.connect_timeout_s, bounds.read_timeout_s)

    def _fail(self, op: str, key: str, exc: BaseException, reading: bool) -> Exception:
        from google.api_core import exceptions as gexc

        if isinstance(exc, gexc.NotFound) and reading:
            return not_found(op, key, self.url)
        if isinstance(exc, gexc.GoogleAPICallError):
            return failure(op, key, self.url, f"{type(exc).__name__} (HTTP {exc.code})")
        if isinstance(exc, gexc.RetryError):
            cause = type(exc.cause).__name__ if exc.cause is not None else "timeout"
            return failure(op, key, self.url, f"gave up retrying after {cause}")
        return failure(op, key, self.url, type(exc).__name__)

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self._blob(key).upload_from_string(data, retry=self._retry(), timeout=self._timeout())
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a StorageError
            raise self._fail("upload", key, exc, reading=False) from None

    def put_stream(self, key: str, stream: BinaryIO, size: int | None = None) -> None:
        try:
            self._blob(key, chunked=True).upload_from_file(stream, size=size, rewind=False,
                                                           retry=self._retry(), timeout=self._timeout())
        except Exception as exc:  # noqa: BLE001
            raise self._fail("resumable upload", key, exc, reading=False) from None

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._blob(key).download_as_bytes(retry=self._retry(), timeout=self._timeout())
        except Exception as exc:  # noqa: BLE001
            raise self._fail("download", key, exc, reading=True) from None

    def open_read(self, key: str) -> BinaryIO:
        """Chunked download into an unnamed temp file (gone on close): bounded memory."""
        handle = tempfile.TemporaryFile()
        try:
            self._blob(key, chunked=True).download_to_file(handle, retry=self._retry(), timeout=self._timeout())
        except Exception as exc:  # noqa: BLE001
            handle.close()
            raise self._fail("chunked download", key, exc, reading=True) from None
        handle.seek(0)
        return handle

    def exists(self, key: str) -> bool:
        try:
            return bool(self._blob(key).exists(retry=self._retry(), timeout=self._timeout()))
        except Exception as exc:  # noqa: BLE001
            raise self._fail("existence check", key, exc, reading=True) from None

    def list(self, prefix: str) -> Iterator[str]:
        start = list_prefix(self.prefix, prefix)
        cut = len(self.prefix) + 1 if self.prefix else 0
        client = self.client
        try:
            for blob in client.list_blobs(self.bucket_name, prefix=start, retry=self._retry(),
                                          timeout=self._timeout()):
                yield blob.name[cut:]
        except Exception as exc:  # noqa: BLE001
            raise self._fail("listing", prefix or "/", exc, reading=False) from None


select.register("gs", GCSBackend)

"""Azure Blob Storage as a store: root ``wasbs://container@account.blob.core.windows.net/prefix``.

Credentials, in order: ``AZURE_STORAGE_CONNECTION_STRING`` (also gives the endpoint, e.g.
Azurite), ``AZURE_STORAGE_KEY``, ``AZURE_STORAGE_SAS_TOKEN``, then azure-identity's
``DefaultAzureCredential`` when it is installed; or dagster-azure's ``AzureBlobStorageResource``
when the store is given one (``resource_clients``). Never in the root: the root is shown in the UI
and in error messages. Large values are uploaded as staged blocks and downloaded in ranges, a
few blocks at a time; azure-core's ``ExponentialRetry`` retries throttling, 5xx and resets.
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
_CREDENTIAL_ENV = ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN")


def _client_options() -> dict[str, Any]:
    from azure.storage.blob import ExponentialRetry

    bounds = RetryBounds.from_env()
    sizes = TransferSizes.from_env()
    return {
        "retry_policy": ExponentialRetry(initial_backoff=bounds.initial_backoff_s, increment_base=2,
                                         retry_total=bounds.max_attempts - 1, random_jitter_range=1),
        "connection_timeout": bounds.connect_timeout_s,
        "read_timeout": bounds.read_timeout_s,
        "max_single_put_size": sizes.part_bytes,
        "max_block_size": sizes.part_bytes,
        "max_single_get_size": sizes.part_bytes,
        "max_chunk_get_size": sizes.part_bytes,
    }


def _make_service(account: str, host: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    options = _client_options()
    connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection:
        return BlobServiceClient.from_connection_string(connection, **options)
    credential: Any = None
    if os.environ.get("AZURE_STORAGE_KEY"):
        credential = {"account_name": account, "account_key": os.environ["AZURE_STORAGE_KEY"]}
    elif os.environ.get("AZURE_STORAGE_SAS_TOKEN"):
        credential = os.environ["AZURE_STORAGE_SAS_TOKEN"]
    else:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:  # anonymous: public containers only
            credential = None
        else:
            credential = DefaultAzureCredential()
    return BlobServiceClient(f"https://{host}", credential=credential, **options)


class AzureBlobBackend(Backend):
    def __init__(self, root: str, client: ResourceClient | None = None):
        self.resource_client = client
        netloc, self.prefix = split_root(root, "wasbs") if root.startswith("wasbs:") else split_root(root, "wasb")
        container, at, host = netloc.partition("@")
        if not at or not container or not host or ":" in container:
            raise StorageError(
                "an Azure root has the form wasbs://<container>@<account>.blob.core.windows.net/<prefix>; "
                "credentials go in AZURE_STORAGE_CONNECTION_STRING / AZURE_STORAGE_KEY, never in the root."
            )
        self.container, self.host = container, host
        self.account = host.split(".", 1)[0]
        self.url = f"wasbs://{container}@{host}/{self.prefix}".rstrip("/")

    def _container(self) -> Any:
        if self.resource_client is not None:  # the client AzureBlobStorageResource builds
            service = _CLIENTS.get(self.resource_client, self.resource_client.build)
            return service.get_container_client(self.container)
        settings = ("azure", self.account, self.host, RetryBounds.from_env(), TransferSizes.from_env()) + tuple(
            os.environ.get(n) for n in _CREDENTIAL_ENV)
        service = _CLIENTS.get(settings, lambda: _make_service(self.account, self.host))
        return service.get_container_client(self.container)

    def _blob(self, key: str) -> Any:
        return self._container().get_blob_client(join(self.prefix, key))

    def _fail(self, op: str, key: str, exc: BaseException, reading: bool) -> Exception:
        from azure.core import exceptions as aexc

        if isinstance(exc, aexc.ResourceNotFoundError) and reading and exc.error_code != "ContainerNotFound":
            return not_found(op, key, self.url)
        if isinstance(exc, aexc.HttpResponseError):
            return failure(op, key, self.url, f"{exc.error_code or type(exc).__name__} (HTTP {exc.status_code})")
        return failure(op, key, self.url, type(exc).__name__)

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self._blob(key).upload_blob(data, overwrite=True)
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a StorageError
            raise self._fail("upload", key, exc, reading=False) from None

    def put_stream(self, key: str, stream: BinaryIO, size: int | None = None) -> None:
        threads = TransferSizes.from_env().threads
        try:
            self._blob(key).upload_blob(stream, length=size, overwrite=True, max_concurrency=threads)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("block upload", key, exc, reading=False) from None

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._blob(key).download_blob().readall()
        except Exception as exc:  # noqa: BLE001
            raise self._fail("download", key, exc, reading=True) from None

    def open_read(self, key: str) -> BinaryIO:
        """Ranged parallel download into an unnamed temp file (gone on close): bounded memory."""
        handle = tempfile.TemporaryFile()
        try:
            self._blob(key).download_blob(max_concurrency=TransferSizes.from_env().threads).readinto(handle)
        except Exception as exc:  # noqa: BLE001
            handle.close()
            raise self._fail("ranged download", key, exc, reading=True) from None
        handle.seek(0)
        return handle

    def exists(self, key: str) -> bool:
        try:
            return bool(self._blob(key).exists())
        except Exception as exc:  # noqa: BLE001
            raise self._fail("existence check", key, exc, reading=True) from None

    def list(self, prefix: str) -> Iterator[str]:
        start = list_prefix(self.prefix, prefix)
        cut = len(self.prefix) + 1 if self.prefix else 0
        try:
            for item in self._container().list_blobs(name_starts_with=start or None):
                yield item.name[cut:]
        except Exception as exc:  # noqa: BLE001
            raise self._fail("listing", prefix or "/", exc, reading=False) from None


select.register("azure", AzureBlobBackend)

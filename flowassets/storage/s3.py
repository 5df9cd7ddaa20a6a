"""S3 (and S3-compatible servers) as a store: root ``s3://bucket/prefix``.

Credentials and endpoint come from boto3's standard chain (env vars, profiles, instance/pod
roles; ``AWS_ENDPOINT_URL`` for MinIO/SeaweedFS-style servers), or from dagster-aws's
``S3Resource`` when the store is given one (``resource_clients``), never from the root. Large
values go through s3transfer's multipart upload/download, so memory is bounded by part size x
threads. Buckets are never created here: a typo in a bucket name must fail, not make a bucket.
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
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _client_settings() -> tuple:
    """What makes two clients different; a changed environment gets a new client."""
    names = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
             "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    return ("s3",) + tuple(os.environ.get(n) for n in names) + (RetryBounds.from_env(),)


def _make_client() -> Any:
    import boto3
    from botocore.config import Config

    bounds = RetryBounds.from_env()
    config = Config(
        retries={"mode": "standard", "max_attempts": bounds.max_attempts},
        connect_timeout=bounds.connect_timeout_s,
        read_timeout=bounds.read_timeout_s,
        max_pool_connections=max(10, TransferSizes.from_env().threads * 2),
    )
    # boto3 reads AWS_ENDPOINT_URL(_S3) itself (botocore >= 1.31), so S3-compatible servers just work.
    return boto3.session.Session().client("s3", config=config)


class S3Backend(Backend):
    def __init__(self, root: str, client: ResourceClient | None = None):
        self.resource_client = client
        self.bucket, self.prefix = split_root(root, "s3")
        if "@" in self.bucket:
            raise StorageError("an s3:// root names a bucket and a prefix only; put credentials in the "
                               "environment (AWS_* variables, a profile or a role), never in the root.")
        self.url = f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def client(self) -> Any:
        if self.resource_client is not None:  # the client S3Resource.get_client() builds
            return _CLIENTS.get(self.resource_client, self.resource_client.build)
        return _CLIENTS.get(_client_settings(), _make_client)

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        sizes = TransferSizes.from_env()
        return TransferConfig(multipart_threshold=sizes.part_bytes, multipart_chunksize=sizes.part_bytes,
                              max_concurrency=sizes.threads, use_threads=True)

    def _fail(self, op: str, key: str, exc: BaseException) -> Exception:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _MISSING or status == 404 and code != "NoSuchBucket":
                return not_found(op, key, self.url)
            return failure(op, key, self.url, f"{code or 'error'} (HTTP {status})")
        return failure(op, key, self.url, type(exc).__name__)

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=join(self.prefix, key), Body=data)
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a StorageError
            raise self._fail("upload", key, exc) from None

    def put_stream(self, key: str, stream: BinaryIO, size: int | None = None) -> None:
        try:
            self.client.upload_fileobj(stream, self.bucket, join(self.prefix, key),
                                       Config=self._transfer_config())
        except Exception as exc:  # noqa: BLE001
            raise self._fail("multipart upload", key, exc) from None

    def get_bytes(self, key: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=join(self.prefix, key))["Body"]
            with body:
                return body.read()
        except Exception as exc:  # noqa: BLE001
            raise self._fail("download", key, exc) from None

    def open_read(self, key: str) -> BinaryIO:
        """Parallel ranged download into an unnamed temp file (gone on close): bounded memory."""
        handle = tempfile.TemporaryFile()
        try:
            self.client.download_fileobj(self.bucket, join(self.prefix, key), handle,
                                         Config=self._transfer_config())
        except Exception as exc:  # noqa: BLE001
            handle.close()
            raise self._fail("multipart download", key, exc) from None
        handle.seek(0)
        return handle

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=join(self.prefix, key))
            return True
        except Exception as exc:  # noqa: BLE001
            error = self._fail("existence check", key, exc)
            if isinstance(error, KeyError):
                return False
            raise error from None

    def list(self, prefix: str) -> Iterator[str]:
        start = list_prefix(self.prefix, prefix)
        cut = len(self.prefix) + 1 if self.prefix else 0
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
            for page in pages:
                for item in page.get("Contents", ()):
                    yield item["Key"][cut:]
        except Exception as exc:  # noqa: BLE001
            raise self._fail("listing", prefix or "/", exc) from None


select.register("s3", S3Backend)

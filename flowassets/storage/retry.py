"""What the three object-store backends share: retry bounds, per-process clients, safe errors.

Retrying itself is left to each SDK (botocore's ``standard`` mode, google-api-core's ``Retry``,
azure-core's ``ExponentialRetry``), which already know which responses are transient; this module
only gives them one set of bounds, read from the environment so a pod can be tuned without code.

Clients hold sockets and locks that must not cross a ``fork``: the runtime forks a child per task
and the child writes blobs itself, so a client is created lazily and again in every new process.

Errors are rebuilt from the SDK's exception without its text or cause chain, because SDK messages
can carry signed URLs, SAS tokens or connection strings; ours name the operation, the key and the
store URL (which never holds a credential) and the service's error code.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Hashable, TypeVar
from urllib.parse import urlsplit

from ..errors import ArtifactNotFound, StorageError
from .backend import safe_key

C = TypeVar("C")

ATTEMPTS_ENV = "FLOWASSETS_STORAGE_MAX_ATTEMPTS"
TIMEOUT_ENV = "FLOWASSETS_STORAGE_RETRY_SECONDS"
PART_MB_ENV = "FLOWASSETS_STORAGE_PART_MB"


@dataclass(frozen=True)
class RetryBounds:
    """How hard a backend tries before giving up on one call."""

    max_attempts: int = 6
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    total_seconds: float = 90.0  # google's Retry is bounded by time, not attempts
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0

    @classmethod
    def from_env(cls) -> "RetryBounds":
        attempts = int(os.environ.get(ATTEMPTS_ENV) or cls.max_attempts)
        total = float(os.environ.get(TIMEOUT_ENV) or cls.total_seconds)
        return cls(max_attempts=max(1, attempts), total_seconds=max(1.0, total))


@dataclass(frozen=True)
class TransferSizes:
    """Part size and parallelism for multipart transfers: memory held is about part x threads."""

    part_bytes: int = 16 << 20
    threads: int = 4

    @classmethod
    def from_env(cls) -> "TransferSizes":
        mb = int(os.environ.get(PART_MB_ENV) or (cls.part_bytes >> 20))
        return cls(part_bytes=max(5, mb) << 20)


class ProcessLocal:
    """One client per process and per settings: rebuilt after ``fork`` (the pid changes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._clients: dict[Hashable, Any] = {}

    def get(self, key: Hashable, factory: Callable[[], C]) -> C:
        if self._pid != os.getpid():  # inherited from the parent: never reuse its sockets (or its
            self._pid = os.getpid()  # lock, which another parent thread may have held at fork)
            self._clients = {}
            self._lock = threading.Lock()
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = factory()
            return client


def split_root(root: str, scheme: str) -> tuple[str, str]:
    """``scheme://netloc/prefix`` -> (netloc, prefix), refusing credentials or queries in it."""
    parts = urlsplit(root)
    if parts.scheme != scheme or not parts.netloc:
        raise StorageError(f"store root {_shown(root)!r} is not of the form {scheme}://<bucket>/<prefix>.")
    if parts.query or parts.fragment or parts.password is not None:
        raise StorageError(
            f"store root for {scheme}://{parts.hostname}/ carries credentials or a query string; "
            "put credentials in the environment (see the docs of this datastore), never in the root."
        )
    prefix = parts.path.strip("/")
    if prefix:
        prefix = safe_key(prefix)
    return parts.netloc, prefix


def join(prefix: str, key: str) -> str:
    """The object name of a store-relative key; the key is checked again so nothing escapes."""
    key = safe_key(key)
    return f"{prefix}/{key}" if prefix else key


def list_prefix(prefix: str, sub: str) -> str:
    """The object-name prefix to list for store-relative ``sub`` (a folder, or the whole store)."""
    sub = sub.strip("/")
    if sub:
        sub = safe_key(sub)
    inner = "/".join(p for p in (prefix, sub) if p)
    return inner + "/" if inner else ""


def not_found(op: str, key: str, url: str) -> ArtifactNotFound:
    return ArtifactNotFound(f"no object {key!r} in {url} ({op})")


def failure(op: str, key: str, url: str, code: str) -> StorageError:
    """A ``StorageError`` that names the key and the store, with only codes from the SDK."""
    return StorageError(
        f"{op} of {key!r} in {url} failed: {code}. Check that the store is reachable and the "
        "bucket/container exists; transient errors were already retried."
    )


def _shown(root: str) -> str:
    parts = urlsplit(root)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{parts.path}"

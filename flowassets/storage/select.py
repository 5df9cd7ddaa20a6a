"""Choose the store from settings or environment, as Metaflow's --datastore / env vars do.

``FLOWASSETS_DATASTORE`` (local|s3|gs|azure) picks the kind; ``FLOWASSETS_DATASTORE_SYSROOT_<KIND>``
its root. Backends for other kinds register here, so there is one list of store kinds.

A location (``kind:root``, recorded on each run and handed to task pods) may end in
``#<client configuration>`` when a Dagster resource builds the store's client
(``resource_clients``): another process rebuilds the client from it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

from ..errors import StorageError
from .backend import Backend

if TYPE_CHECKING:
    from .resource_clients import ResourceClient

#: root -> backend; object stores also take ``client=`` (a ``ResourceClient``, or None).
BackendFactory = Callable[..., Backend]
_FACTORIES: dict[str, BackendFactory] = {}
SYSROOT_ENV = {
    "local": "FLOWASSETS_DATASTORE_SYSROOT_LOCAL",
    "s3": "FLOWASSETS_DATASTORE_SYSROOT_S3",
    "gs": "FLOWASSETS_DATASTORE_SYSROOT_GS",
    "azure": "FLOWASSETS_DATASTORE_SYSROOT_AZURE",
}


def register(kind: str, factory: BackendFactory) -> None:
    _FACTORIES[kind] = factory


def _local(root: str) -> Backend:
    from .local import LocalBackend

    return LocalBackend(root)


register("local", _local)


def default_local_root() -> str:
    return os.path.join(os.getcwd(), ".flowassets")


def resolve(kind: str | None = None, sysroot: str | None = None) -> tuple[str, str]:
    """The (kind, root) a run will use: explicit values first, then the environment."""
    kind = (kind or os.environ.get("FLOWASSETS_DATASTORE") or "local").lower()
    if kind not in SYSROOT_ENV:
        raise StorageError(
            f"unknown datastore {kind!r}; use one of {', '.join(SYSROOT_ENV)} (FLOWASSETS_DATASTORE)."
        )
    root = sysroot or os.environ.get(SYSROOT_ENV[kind])
    if not root:
        if kind != "local":
            raise StorageError(
                f"datastore {kind!r} needs a root: set {SYSROOT_ENV[kind]} (e.g. "
                f"{'s3://bucket/prefix' if kind == 's3' else 'gs://bucket/prefix' if kind == 'gs' else 'wasbs://container@account.blob.core.windows.net/prefix'})."
            )
        root = default_local_root()
    if kind == "local":
        root = os.path.abspath(root)
    return kind, root


def open_backend(kind: str | None = None, sysroot: str | None = None,
                 client: "ResourceClient | None" = None) -> Backend:
    """The store's backend; ``client``: a Dagster resource's configuration that builds its client
    (ignored for a store of another kind, e.g. ``--datastore local`` over an S3 resource)."""
    kind, root = resolve(kind, sysroot)
    if kind not in _FACTORIES:
        try:
            __import__(f"flowassets.storage.{ {'s3': 's3', 'gs': 'gcs', 'azure': 'azure'}[kind] }")
        except ImportError as exc:
            raise StorageError(f"datastore {kind!r} is not available: {exc}") from exc
    if kind not in _FACTORIES:
        raise StorageError(f"datastore {kind!r} is not available in this installation.")
    if client is not None and client.kind.datastore == kind:
        return _FACTORIES[kind](root, client=client)
    return _FACTORIES[kind](root)


def location(kind: str | None = None, sysroot: str | None = None,
             client: "ResourceClient | None" = None) -> str:
    """The ``kind:root`` string recorded on each run so the client finds its store (with
    ``#<client configuration>`` when a Dagster resource builds the store's client)."""
    kind, root = resolve(kind, sysroot)
    if client is not None and client.kind.datastore == kind:
        return f"{kind}:{root}#{client.to_text()}"
    return f"{kind}:{root}"


def open_location(loc: str) -> Backend:
    kind, _, rest = loc.partition(":")
    root, _, client_text = rest.partition("#")
    client = None
    if client_text:
        from .resource_clients import ResourceClient

        client = ResourceClient.from_text(client_text)
    return open_backend(kind, root, client)


def location_of(backend: Backend) -> str:
    """The ``kind:root`` string ``open_location`` opens, from a backend's URL (for another process)."""
    url = backend.url
    if url.startswith("local://"):
        return "local:" + url[len("local://"):]
    client = getattr(backend, "resource_client", None)
    for scheme, kind in (("s3://", "s3"), ("gs://", "gs"), ("wasbs://", "azure")):
        if url.startswith(scheme):
            return f"{kind}:{url}" + (f"#{client.to_text()}" if client is not None else "")
    raise StorageError(f"the store {url} cannot be handed to another process.")

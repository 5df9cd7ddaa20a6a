"""The artifact store over a client resource a Dagster deployment already configures.

``S3StoreResource(sysroot="s3://bucket/prefix", s3=S3Resource(...))`` is the flowassets store
whose S3 client is the one dagster-aws's ``S3Resource`` builds, the way dagster-aws's own
``S3PickleIOManager(s3_resource=..., s3_bucket=...)`` takes it. ``build_definitions(...,
flowassets_store=S3Resource(...))`` wraps a bare client resource so (root from
``FLOWASSETS_DATASTORE_SYSROOT_S3``). Unset fields keep falling back to the environment.
"""

from __future__ import annotations

from typing import Any, Optional

from dagster_aws.s3 import S3Resource

from ..errors import StorageError
from . import select
from .backend import Backend
from .io_manager import ArtifactStoreResource
from .resource_clients import ResourceClient, credential_env_names, kind_of


class ClientStoreResource(ArtifactStoreResource):
    """An artifact store whose SDK client a nested Dagster resource builds.

    ``credential_env`` (filled from the nested resource as written: which credential came from
    which ``EnvVar``) lets task pods and the client library find the same credentials in their
    own environment; Dagster hands the running op the resolved values, without the names."""

    credential_env: dict[str, str] = {}

    def __init__(self, **data: Any):
        nested = data.get(self._client_field())
        if nested is not None and "credential_env" not in data:
            data["credential_env"] = credential_env_names(nested)
        super().__init__(**data)

    @classmethod
    def _client_field(cls) -> str:
        raise NotImplementedError

    def resource_client(self) -> ResourceClient:
        return ResourceClient.of(getattr(self, self._client_field()), self.credential_env)

    def backend(self) -> Backend:
        return select.open_backend(self.datastore, self.sysroot, self.resource_client())

    def location(self) -> str:
        return select.location(self.datastore, self.sysroot, self.resource_client())


class S3StoreResource(ClientStoreResource):
    """Artifacts on S3 through dagster-aws's ``S3Resource`` (endpoint, region, profile,
    credentials as the deployment configures them); the bucket and prefix are ``sysroot``."""

    datastore: Optional[str] = "s3"
    s3: S3Resource

    @classmethod
    def _client_field(cls) -> str:
        return "s3"


def store_resource_for(resource: Any) -> Any:
    """``flowassets_store=`` as given: a flowassets store as is, a client resource wrapped."""
    kind = kind_of(resource)
    if kind is None:
        return resource
    if kind.datastore == "s3":
        return S3StoreResource(s3=resource)
    if kind.datastore == "azure":
        from .azure_resource import AzureBlobStoreResource

        return AzureBlobStoreResource(blob=resource)
    if kind.datastore == "gs":
        from .gcs_resource import GCSStoreResource

        return GCSStoreResource(gcs=resource)
    raise StorageError(f"{type(resource).__name__} cannot be a flowassets store.")  # pragma: no cover

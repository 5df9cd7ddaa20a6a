"""Store clients built by a Dagster resource, here and in other processes.

A Dagster deployment already configures its object store through Dagster's own resources
(dagster-aws's ``S3Resource``: endpoint, region, profile, credentials, often as ``EnvVar``;
dagster-azure's ``AzureBlobStorageResource``; dagster-gcp's ``GCSResource``).
A store given such a resource uses the client that resource builds (``get_client()``).

Forked foreach tasks inherit the backend and build their own client after the fork. Task pods
and the client library run in other processes, which cannot receive a live client: they get
the resource's *configuration* (``ResourceClient.to_text()``), recorded in the store location.
That text names the resource class, its plain fields, and, for each credential field, the
environment variable the deployment set it from (``EnvVar``). A literal credential is never
written out: another process goes without it (boto3 then uses its own chain: AWS_* variables,
a profile, a role; an Azure key becomes anonymous access).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import StorageError


@dataclass(frozen=True)
class ResourceKind:
    """One Dagster resource flowassets can take a store client from."""

    datastore: str  # the store kind it serves (select.SYSROOT_ENV)
    resource_class: str  # "module:Class"
    credential_fields: tuple[str, ...]  # dotted paths of fields that hold secrets
    client_of: Callable[[Any], Any]  # resource -> SDK client
    #: the field values ``model_dump(mode="json")`` gave -> the resource's constructor arguments
    arguments: Callable[[dict[str, Any]], dict[str, Any]] = lambda values: values


def _s3_client(resource: Any) -> Any:
    return resource.get_client()


def _blob_client(resource: Any) -> Any:
    """dagster-azure's ``get_client()`` is a context manager that closes the client on exit; the
    store keeps one client per process, so it is entered and left open for the process."""
    return contextlib.ExitStack().enter_context(resource.get_client())


def _gcs_client(resource: Any) -> Any:
    return resource.get_client()


def _blob_arguments(values: dict[str, Any]) -> dict[str, Any]:
    """The credential back as its Config class: dumped, it is ``{"credential_type": ...}``,
    which the resource's constructor does not take (Dagster wants a one-key union dict)."""
    from dagster_azure import blob

    classes = {"key": blob.AzureBlobStorageKeyCredential, "sas": blob.AzureBlobStorageSASTokenCredential,
               "default_azure_credential": blob.AzureBlobStorageDefaultCredential,
               "anonymous": blob.AzureBlobStorageAnonymousCredential}
    credential = dict(values["credential"])
    kind = credential.pop("credential_type")
    return {**values, "credential": classes[kind](**credential)}


#: One list of the resources a store accepts (by class, so the packages are imported lazily).
KINDS: tuple[ResourceKind, ...] = (
    ResourceKind("s3", "dagster_aws.s3.resources:S3Resource",
                 ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"), _s3_client),
    ResourceKind("azure", "dagster_azure.blob.resources:AzureBlobStorageResource",
                 ("credential.key", "credential.token"), _blob_client, _blob_arguments),
    # GCSResource holds only a project: credentials are Application Default Credentials in
    # every process (a key file, workload identity), never part of the resource.
    ResourceKind("gs", "dagster_gcp.gcs.resources:GCSResource", (), _gcs_client),
)


def kind_of(resource: Any) -> ResourceKind | None:
    """The ``ResourceKind`` of a resource instance, or None when it is not one of ``KINDS``."""
    for cls in type(resource).__mro__:
        path = f"{cls.__module__}:{cls.__qualname__}"
        for kind in KINDS:
            if kind.resource_class == path:
                return kind
    return None


def _kind_named(resource_class: str) -> ResourceKind:
    for kind in KINDS:
        if kind.resource_class == resource_class:
            return kind
    raise StorageError(f"unknown store client resource {resource_class!r}; flowassets takes "
                       f"{', '.join(k.resource_class for k in KINDS)}.")


def _get(values: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(values, dict):
            return None
        values = values.get(part)
    return values


def _set(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[last] = value


def credential_env_names(resource: Any) -> dict[str, str]:
    """Credential field -> the environment variable it was set from (``EnvVar``), read from the
    resource as the user wrote it (Dagster replaces an ``EnvVar`` by its value when a run
    starts, so this is captured when the definitions are built)."""
    import dagster as dg

    kind = kind_of(resource)
    if kind is None:
        return {}
    names = {}
    for path in kind.credential_fields:
        value: Any = resource
        for part in path.split("."):
            value = getattr(value, part, None)
        if isinstance(value, dg.EnvVar):
            names[path] = value.env_var_name
    return names


@dataclass(frozen=True)
class ResourceClient:
    """How to build a store's SDK client from a Dagster resource's configuration.

    ``values`` are the resource's fields as this process resolved them (credentials included:
    kept in memory, never in ``to_text()``); ``credential_env`` names the variables that hold
    the credentials in other processes."""

    resource_class: str
    values_json: str
    credential_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, resource: Any, credential_env: dict[str, str] | None = None) -> "ResourceClient":
        kind = kind_of(resource)
        if kind is None:
            raise StorageError(f"{type(resource).__name__} is not a store client resource; use one of "
                               f"{', '.join(k.resource_class for k in KINDS)}.")
        values = resource.model_dump(mode="json")
        return cls(kind.resource_class, json.dumps(values, sort_keys=True),
                   tuple(sorted((credential_env or {}).items())))

    @property
    def kind(self) -> ResourceKind:
        return _kind_named(self.resource_class)

    def build(self) -> Any:
        """A new client, built by the resource (call it once per process: ``ProcessLocal``)."""
        values = json.loads(self.values_json)
        for path, name in self.credential_env:
            if os.environ.get(name) is not None:
                _set(values, path, os.environ[name])
        module, _, name = self.resource_class.partition(":")
        try:
            resource_cls = getattr(importlib.import_module(module), name)
        except ImportError as exc:
            raise StorageError(f"the store's client resource {self.resource_class} cannot be imported "
                               f"here ({exc}); install it where the step runs.") from exc
        return self.kind.client_of(resource_cls(**self.kind.arguments(values)))

    def to_text(self) -> str:
        """The configuration another process needs: no credential value, only where to find it."""
        values = json.loads(self.values_json)
        for path in self.kind.credential_fields:  # a literal secret never leaves this process:
            if _get(values, path) is not None:  # the other one reads credential_env, else its
                _set(values, path, None)  # SDK's own chain (AWS_*, a profile, a role)
        env = dict(self.credential_env)
        return json.dumps({"resource": self.resource_class, "values": values, "credential_env": env},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> "ResourceClient":
        data = json.loads(text)
        return cls(data["resource"], json.dumps(data["values"], sort_keys=True),
                   tuple(sorted(data.get("credential_env", {}).items())))

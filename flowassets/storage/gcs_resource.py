"""The artifact store on Google Cloud Storage through dagster-gcp's ``GCSResource``.

Kept apart from ``store_resources`` because dagster-gcp is an optional dependency
(``pip install flowassets[gcp]``; it brings pandas 2.x, see pyproject.toml): importing this
module needs it, nothing else does. ``GCSResource`` configures the project; credentials are
Application Default Credentials wherever the client is built (the op, forked tasks, task pods,
the client library), and ``STORAGE_EMULATOR_HOST`` points every one of them at an emulator.
"""

from __future__ import annotations

from typing import Optional

from dagster_gcp.gcs import GCSResource

from .store_resources import ClientStoreResource


class GCSStoreResource(ClientStoreResource):
    """Artifacts on GCS through dagster-gcp's ``GCSResource``; the bucket and prefix are
    ``sysroot`` (``gs://<bucket>/<prefix>``)."""

    datastore: Optional[str] = "gs"
    gcs: GCSResource

    @classmethod
    def _client_field(cls) -> str:
        return "gcs"

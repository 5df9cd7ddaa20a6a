"""The artifact store on Azure Blob through dagster-azure's ``AzureBlobStorageResource``.

Kept apart from ``store_resources`` because dagster-azure is an optional dependency
(``pip install flowassets[azure]``): importing this module needs it, nothing else does.
dagster-azure's ``ADLS2Resource`` is not taken: it builds its clients for
``https://<account>.dfs.core.windows.net`` and ``.blob.core.windows.net`` only, so it cannot
reach an account at another endpoint (Azurite, sovereign clouds, private endpoints), while
``AzureBlobStorageResource`` takes the account URL and a key, SAS, default or anonymous
credential.
"""

from __future__ import annotations

from typing import Optional

from dagster_azure.blob import AzureBlobStorageResource

from .store_resources import ClientStoreResource


class AzureBlobStoreResource(ClientStoreResource):
    """Artifacts on Azure Blob through dagster-azure's ``AzureBlobStorageResource``; the
    container and prefix are ``sysroot`` (``wasbs://<container>@<account host>/<prefix>``)."""

    datastore: Optional[str] = "azure"
    blob: AzureBlobStorageResource

    @classmethod
    def _client_field(cls) -> str:
        return "blob"

"""Storage tests run against real servers; the fixtures live in tests/support/servers.py."""

from tests.support.servers import (  # noqa: F401 - pytest finds fixtures by name
    azure_store_server,
    gcs_store_server,
    object_store,
    s3_store_server,
)

"""Storage tests run against real servers; the fixtures live in tests/support/servers.py (and the
check for processes a test leaves behind in tests/support/processes.py)."""

from tests.support.servers import (  # noqa: F401 - pytest finds fixtures by name
    azure_store_server,
    gcs_store_server,
    object_store,
    s3_store_server,
)
from tests.support.processes import process_leak_check  # noqa: F401

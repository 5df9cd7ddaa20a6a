"""The emulator tests use the shared fixtures from tests/support/k8s_emulator/fixtures.py."""

from tests.support.k8s_emulator.fixtures import k8s_emulator, k8s_namespace  # noqa: F401 - fixtures by name

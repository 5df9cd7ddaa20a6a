"""Shared fixtures: every test gets its own artifact root and Dagster home under tmp_path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOWS = Path(__file__).resolve().parent / "flows"


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Point the default store and Dagster home at tmp_path so tests never share state."""
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(tmp_path / "store"))
    monkeypatch.delenv("FLOWASSETS_DATASTORE", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.chdir(tmp_path)
    # The CLI's warm worker is off here; tests/worker turns it on (and runs CLI tests through
    # it). Each test's captured output says which one it used.
    monkeypatch.setenv("FLOWASSETS_NO_DAEMON", "1")
    print("flowassets CLI worker: off (FLOWASSETS_NO_DAEMON=1)")
    yield tmp_path


def pytest_configure(config):
    # Also for module- and session-scoped fixtures, which run before the autouse fixture above:
    # a `flowassets run` they start must not leave a warm worker in the user's worker directory.
    os.environ["FLOWASSETS_NO_DAEMON"] = "1"


def pytest_report_header(config):
    return ("flowassets CLI worker: off (FLOWASSETS_NO_DAEMON=1), on in tests/worker "
            "(each test prints which)")


def load_flow(module_file: str | Path, name: str | None = None):
    """Import a flow file from tests/flows (or a path) and return its FlowSpec class."""
    from flowassets.authoring.loader import load_flow_class

    path = Path(module_file)
    if not path.is_absolute():
        path = FLOWS / path
    return load_flow_class(str(path), name)

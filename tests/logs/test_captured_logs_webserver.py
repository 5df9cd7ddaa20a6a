"""The stdout/stderr panes of the Dagster UI, through the real webserver's GraphQL: a run
launched from the webserver (``launchRun``, the run worker of its DefaultRunLauncher) has each
task's stdout and stderr apart and labelled per task under the log key of its LOGS_CAPTURED
event, read with the UI's own queries (``logsForRun``, ``capturedLogs``,
``capturedLogsMetadata``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from flowassets.client import Flow
from tests.conftest import FLOWS
from tests.logs.test_compute_logs import assert_apart_and_labelled
from tests.ui.webserver import DagsterUI, run_webserver

DEFS = """
from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class

defs = build_definitions([load_flow_class({flow!r})])
"""

LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
CAPTURES = """query($id: ID!) { logsForRun(runId: $id) { __typename ... on EventConnection {
  events { __typename ... on LogsCapturedEvent { fileKey stepKeys } } } } }"""
LOGS = """query($key: [String!]!) { capturedLogs(logKey: $key) { stdout stderr }
  capturedLogsMetadata(logKey: $key) { stdoutLocation stderrLocation } }"""
REPOSITORIES = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name
  location { name } } } } }"""


def printing_webserver(workdir: Path) -> Iterator[DagsterUI]:
    """Generator for a fixture: the real webserver serving PrintingFlow's job."""
    workdir.mkdir(parents=True, exist_ok=True)
    defs = workdir / "printing_defs.py"
    defs.write_text(DEFS.format(flow=str(FLOWS / "printing_flow.py")))
    yield from run_webserver(workdir / "ui", target=["-f", str(defs)])


@pytest.fixture
def webserver(tmp_path, monkeypatch):
    for ui in printing_webserver(tmp_path):
        monkeypatch.setenv("DAGSTER_HOME", str(ui.dagster_home))
        monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(ui.store_root))
        yield ui


def launch(ui: DagsterUI, prefix: str, **config: object) -> str:
    """Launch PrintingFlow through the webserver (its run worker runs it); ``config``: more run
    config."""
    [repo] = ui.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"]
    params = {"selector": {"repositoryLocationName": repo["location"]["name"],
                           "repositoryName": repo["name"], "jobName": "PrintingFlow"},
              "runConfigData": {"ops": {"start": {"config": {"prefix": prefix}}}, **config}}
    launched = ui.graphql(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def wait(ui: DagsterUI, run_id: str, timeout_s: float = 180.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = ui.graphql(STATUS, id=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} not finished after {timeout_s:.0f} s")


def test_webserver_serves_each_tasks_stdout_and_stderr_apart(webserver):
    run_id = launch(webserver, "ui")
    assert wait(webserver, run_id) == "SUCCESS"
    events = webserver.graphql(CAPTURES, id=run_id)["logsForRun"]["events"]
    [capture] = [e for e in events if e["__typename"] == "LogsCapturedEvent"]
    assert "shout" in capture["stepKeys"]  # the run page's buttons for step shout open this key
    key = [run_id, "compute_logs", capture["fileKey"]]
    data = webserver.graphql(LOGS, key=key)
    logs, meta = data["capturedLogs"], data["capturedLogsMetadata"]
    assert_apart_and_labelled(logs["stdout"], logs["stderr"], Flow("PrintingFlow")[run_id], "ui")
    assert meta["stdoutLocation"].endswith(".out") and meta["stderrLocation"].endswith(".err")

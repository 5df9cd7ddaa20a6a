"""Start the real Dagster webserver on the repo's workspace.yaml, for the browser tests.

`dagster-webserver` (not `dagster dev`) with a DefaultRunCoordinator in its own DAGSTER_HOME:
runs launched from the UI start at once in a subprocess, with no daemon to wait for. The server,
its code server and every run worker share one process group, which teardown kills whole
(`dagster dev` would ignore SIGTERM for over 10 s; one SIGKILL to the group never waits).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "workspace.yaml"
LOCATION = "definitions.py"  # the code location name Dagster gives workspace.yaml's python_file
REPOSITORY = "__repository__"

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: dagster.core.launcher
  class: DefaultRunLauncher
"""


@dataclass(frozen=True)
class DagsterUI:
    url: str
    dagster_home: Path
    store_root: Path
    log_path: Path

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", body,
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:  # a bad query: show GraphQL's own message
            raise AssertionError(f"GraphQL {exc.code}: {exc.read().decode(errors='replace')}") from None
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    def job_url(self, job: str, tab: str = "") -> str:
        return f"{self.url}/locations/{LOCATION}/jobs/{job}{'/' + tab if tab else ''}"

    def selector(self, job: str) -> dict[str, str]:
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "pipelineName": job}


def server_env(home: Path, store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWASSETS_")
           or k == "FLOWASSETS_NO_DAEMON"}  # no warm worker left behind by a test
    env.update(DAGSTER_HOME=str(home), FLOWASSETS_DATASTORE_SYSROOT_LOCAL=str(store),
               PYTHONUNBUFFERED="1")
    return env


def run_webserver(workdir: Path, timeout_s: float = 120.0, target: list[str] | None = None,
                  env: dict[str, str] | None = None, dagster_yaml: str = DAGSTER_YAML) -> Iterator[DagsterUI]:
    """Generator for a fixture: yield a ready server, then kill its process group. ``target``:
    what to load (default the repo's workspace.yaml); ``env``: added to the server's;
    ``dagster_yaml``: the instance's configuration (e.g. a QueuedRunCoordinator, with a daemon)."""
    home, store = workdir / "dagster_home", workdir / "store"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(dagster_yaml)
    port = free_port()
    log_path = workdir / "webserver.log"
    exe = shutil.which("dagster-webserver")
    assert exe, "dagster-webserver is not installed (pip install -e '.[dev]')"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [exe, *(target or ["-w", str(WORKSPACE)]), "-h", "127.0.0.1", "-p", str(port)],
            cwd=workdir, env={**server_env(home, store), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    ui = DagsterUI(f"http://127.0.0.1:{port}", home, store, log_path)
    try:
        _wait_until_loaded(ui, proc, timeout_s)
        yield ui
    finally:
        _kill_group(proc)


def _wait_until_loaded(ui: DagsterUI, proc: subprocess.Popen, timeout_s: float) -> None:
    """Until the server answers and the workspace's code location has loaded (or failed)."""
    deadline = time.monotonic() + timeout_s
    query = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {proc.returncode}:\n{_tail(ui)}")
        try:
            entries = ui.graphql(query)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            entries = []
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        if loaded:
            error = loaded[0]["locationOrLoadError"]
            if error and error["__typename"] == "PythonError":
                raise RuntimeError(f"workspace.yaml failed to load in the webserver:\n{error['message']}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"dagster-webserver not ready after {timeout_s:.0f} s:\n{_tail(ui)}")
        time.sleep(0.3)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _tail(ui: DagsterUI, lines: int = 40) -> str:
    return "\n".join(ui.log_path.read_text(errors="replace").splitlines()[-lines:])

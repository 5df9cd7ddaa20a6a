"""Task-level resume: a re-execution from failure runs only the tasks that did not finish.

As Metaflow's ``resume``: the tasks of the failed step that succeeded are cloned (their
artifacts and logs referenced, not copied) and only the failed one runs again; ``resume STEP``
re-runs every task of STEP. Through the CLI and through the webserver's "Re-execute from
failure" (the GraphQL mutation the UI's button sends).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_cli import FLOWS, flowassets, read_back
from tests.ui.webserver import run_webserver

FLOW = FLOWS / "flaky_foreach_flow.py"


def _counts(marks: Path) -> dict[str, int]:
    return {p.name: len(p.read_text()) for p in marks.glob("work-*")}


def _step_metadata(run_id: str, step: str, cwd: Path) -> dict[str, object]:
    return read_back(
        "import json; from flowassets.client.instance import get_instance; i = get_instance(); "
        f"out = [e for e in i.all_logs('{run_id}') if e.is_dagster_event and "
        f"e.dagster_event_type.name == 'STEP_OUTPUT' and e.step_key == '{step}']; "
        "md = out[0].dagster_event.event_specific_data.metadata; "
        "print(json.dumps({k: str(getattr(v, 'value', v)) for k, v in md.items()}))", cwd)


def test_resume_reruns_only_the_failed_task_and_clones_the_rest(tmp_path, marks):
    first = flowassets("run", str(FLOW), "--run-id-file", "first.txt", cwd=tmp_path)
    assert first.returncode == 1 and "task 3 is not fixed yet" in first.stderr
    first_id = (tmp_path / "first.txt").read_text().strip()
    assert _counts(marks) == {f"work-{i}": 1 for i in range(6)}

    (marks / "fixed").touch()
    second = flowassets("resume", str(FLOW), "--run-id-file", "second.txt", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"clone work                     5 of 6 from run {first_id} (2-0, 2-1, 2-2, 2-4, 2-5)" in second.stdout
    assert _counts(marks) == {**{f"work-{i}": 1 for i in range(6)}, "work-3": 2}
    second_id = (tmp_path / "second.txt").read_text().strip()
    meta = _step_metadata(second_id, "work", tmp_path)
    assert meta["cloned tasks"] == f"5 of 6 from run {first_id} (2-0, 2-1, 2-2, 2-4, 2-5)"
    assert meta["tasks"] == "6"

    data = read_back(
        "import json; from flowassets.client import Flow; "
        f"r = Flow('FlakyForeachFlow')['{second_id}']; "
        "print(json.dumps([r.successful, r.data.squares, r['work']['2-0'].stdout, r['work']['2-3'].stdout, "
        "r['work']['2-0'].origin_pathspec, r['work']['2-3'].origin_pathspec]))", tmp_path)
    assert data == [True, [0, 1, 4, 9, 16, 25], "working on 0\n", "working on 3\n",
                    f"FlakyForeachFlow/{first_id}/work/2-0", None]
    # A cloned task's log is its origin run's, found through the run's lineage by `logs` too.
    logs = flowassets("logs", f"FlakyForeachFlow/{second_id}/work/2-1", cwd=tmp_path)
    assert logs.returncode == 0 and logs.stdout == "working on 1\n", logs.stderr

    # `resume STEP` re-runs every task of STEP, cloning none (Metaflow's semantics too).
    again = flowassets("resume", str(FLOW), "work", "--origin-run-id", second_id, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "clone" not in again.stdout
    assert _counts(marks) == {**{f"work-{i}": 2 for i in range(6)}, "work-3": 3}


def test_resume_of_a_resume_clones_from_the_run_each_task_ran_in(tmp_path, marks):
    """A task cloned once is cloned again from where it really ran, not from the run between."""
    assert flowassets("run", str(FLOW), "--run-id-file", "first.txt", cwd=tmp_path).returncode == 1
    first_id = (tmp_path / "first.txt").read_text().strip()
    second = flowassets("resume", str(FLOW), "--run-id-file", "second.txt", cwd=tmp_path)
    assert second.returncode == 1  # still not fixed: task 3 fails again, 5 cloned
    second_id = (tmp_path / "second.txt").read_text().strip()
    assert f"5 of 6 from run {first_id}" in second.stdout
    (marks / "fixed").touch()
    third = flowassets("resume", str(FLOW), cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert f"5 of 6 from run {first_id} (2-0, 2-1, 2-2, 2-4, 2-5)" in third.stdout
    assert _counts(marks) == {**{f"work-{i}": 1 for i in range(6)}, "work-3": 3}
    assert second_id != first_id


REEXECUTE = """mutation($params: ReexecutionParams!) { launchRunReexecution(reexecutionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
TAGS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"""


def _wait_done(ui, run_id: str) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = ui.graphql(STATUS, id=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish")


def test_reexecute_from_failure_in_the_webserver_clones_finished_tasks(tmp_path, marks):
    server = run_webserver(tmp_path / "ui", target=["-m", "flowassets.cli.ui"],
                           env={"FLOWASSETS_FLOW_FILES": str(FLOW), "MARKS": str(marks)})
    ui = next(server)
    try:
        selector = {"repositoryLocationName": "flowassets.cli.ui", "repositoryName": "__repository__",
                    "pipelineName": "FlakyForeachFlow"}
        launched = ui.graphql(LAUNCH, params={"selector": selector, "runConfigData": {}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        first_id = launched["run"]["runId"]
        assert _wait_done(ui, first_id) == "FAILURE"
        # The run worker the webserver started recorded itself as the run's driver.
        tags = {t["key"]: t["value"] for t in ui.graphql(TAGS, id=first_id)["runOrError"]["tags"]}
        assert tags["flowassets/driver"].startswith("pid=") and tags["flowassets/driver-host"]
        (marks / "fixed").touch()
        again = ui.graphql(REEXECUTE, params={"parentRunId": first_id, "strategy": "FROM_FAILURE"})
        again = again["launchRunReexecution"]
        assert again["__typename"] == "LaunchRunSuccess", again
        second_id = again["run"]["runId"]
        assert _wait_done(ui, second_id) == "SUCCESS"
    finally:
        next(server, None)
    assert _counts(marks) == {**{f"work-{i}": 1 for i in range(6)}, "work-3": 2}
    env = {**os.environ, "DAGSTER_HOME": str(ui.dagster_home),
           "FLOWASSETS_DATASTORE_SYSROOT_LOCAL": str(ui.store_root)}
    out = subprocess.run(
        [sys.executable, "-c",
         "import json; from flowassets.client.instance import get_instance; i = get_instance(); "
         f"out = [e for e in i.all_logs('{second_id}') if e.is_dagster_event and "
         "e.dagster_event_type.name == 'STEP_OUTPUT' and e.step_key == 'work']; "
         "print(json.dumps(out[0].dagster_event.event_specific_data.metadata['cloned tasks'].value))"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == f"5 of 6 from run {first_id} (2-0, 2-1, 2-2, 2-4, 2-5)"

"""The client's Metaflow shape: runs newest first, latest (successful) run, KeyErrors."""

from __future__ import annotations

import dagster as dg
import pytest

from flowassets import flow_to_job
from flowassets.client import Flow
from flowassets.errors import ClientError
from tests.conftest import load_flow


def _run(name: str, file: str, **kwargs):
    return flow_to_job(load_flow(file, name)).execute_in_process(
        instance=dg.DagsterInstance.get(), raise_on_error=False, **kwargs)


def test_runs_latest_and_latest_successful(isolated_store):
    ok = _run("ParamsFlow", "params_flow.py")
    bad_cfg = {"ops": {"start": {"config": {"config": "{not json"}}}}
    failed = _run("ParamsFlow", "params_flow.py", run_config=bad_cfg)
    assert ok.success and not failed.success
    flow = Flow("ParamsFlow")
    assert [r.id for r in flow] == [failed.run_id, ok.run_id]  # newest first
    assert flow.latest_run.id == failed.run_id
    assert flow.latest_run.finished and not flow.latest_run.successful
    assert flow.latest_successful_run.id == ok.run_id
    assert flow[ok.run_id]["start"].task.data.total == 1.0


def test_steps_tasks_and_artifacts(isolated_store):
    result = _run("ParamsFlow", "params_flow.py")
    run = Flow("ParamsFlow")[result.run_id]
    assert [s.id for s in run] == ["end", "start"]  # most recent step first, as Metaflow
    task = run["end"].task
    assert task.pathspec == f"ParamsFlow/{result.run_id}/end/2"
    assert "summary" in task and "total" in task.artifacts
    assert task["summary"].data == (2, 0.5, False, "x", {"a": 1})
    assert task["summary"].sha == run["end"]["2"]["summary"].sha
    with pytest.raises(KeyError):
        task["missing"]
    with pytest.raises(AttributeError):
        task.data.missing
    with pytest.raises(KeyError):
        run["no_such_step"]
    with pytest.raises(KeyError):
        Flow("ParamsFlow")["not-a-run-id"]


def test_unknown_flow_is_a_clear_error(isolated_store):
    with pytest.raises(ClientError, match="NoSuchFlow"):
        Flow("NoSuchFlow")

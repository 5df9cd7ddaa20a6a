"""flowassets.FlowComponent: loaded by Dagster's own component machinery (a defs-folder sandbox)
and by the real `dg` CLI in the example project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster.components.testing import create_defs_folder_sandbox

from flowassets import FlowComponent
from flowassets.client import Flow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dg_project"
GREETINGS = EXAMPLE / "flows" / "hello_flow.py"


def _component_defs(sandbox, name: str, attributes: dict):
    path = sandbox.scaffold_component(
        component_cls=FlowComponent, defs_path=name,
        defs_yaml_contents={"type": "flowassets.FlowComponent", "attributes": attributes})
    return sandbox.load_component_and_build_defs(defs_path=path)


def test_component_loads_the_flow_as_a_job_that_runs(isolated_store):
    with create_defs_folder_sandbox() as sandbox:
        with _component_defs(sandbox, "greetings", {"path": str(GREETINGS)}) as (component, defs):
            assert isinstance(component, FlowComponent)
            job = defs.get_job_def("GreetingsFlow")
            assert job.graph.node_named("greet").definition.name == "GreetingsFlow__greet"
            result = job.execute_in_process(
                instance=dg.DagsterInstance.get(),
                run_config={"ops": {"start": {"config": {"greeting": "hi"}}}})
    assert result.success
    assert Flow("GreetingsFlow")[result.run_id].data.longest == "hi, margaret!"


def test_component_artifacts_become_assets_materialized_by_its_job(isolated_store):
    attributes = {"path": str(GREETINGS), "artifacts": ["longest"], "group_name": "greetings",
                  "job_name_prefix": "team_"}
    with create_defs_folder_sandbox() as sandbox:
        with _component_defs(sandbox, "greetings", attributes) as (_, defs):
            key = dg.AssetKey(["GreetingsFlow", "longest"])
            assert defs.resolve_assets_def(key).group_names_by_key[key] == "greetings"
            instance = dg.DagsterInstance.get()
            result = defs.resolve_job_def("team_GreetingsFlow").execute_in_process(instance=instance)
    assert result.success
    event = instance.get_latest_materialization_event(key)
    assert event.run_id == result.run_id
    assert event.asset_materialization.metadata["flowassets/step"].value == "join"


def test_scaffold_without_a_flow_file_writes_a_starter_flow_that_runs(isolated_store):
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(component_cls=FlowComponent, defs_path="starter",
                                          scaffold_params={"flow": "MyFirstFlow"})
        assert (path / "flow.py").exists()
        assert "path: flow.py" in (path / "defs.yaml").read_text()
        with sandbox.load_component_and_build_defs(defs_path=path) as (_, defs):
            result = defs.get_job_def("MyFirstFlow").execute_in_process(instance=dg.DagsterInstance.get())
    assert result.success
    assert Flow("MyFirstFlow")[result.run_id]["join"].task.data.messages == ["hello, ada!", "hello, grace!"]


def test_missing_flow_file_is_a_clear_error():
    with create_defs_folder_sandbox() as sandbox:
        with pytest.raises(Exception) as info:
            with _component_defs(sandbox, "broken", {"path": "flows/nope.py"}):
                pass
    text = "".join(str(e) for e in _chain(info.value))
    assert "flows/nope.py" in text and "not found" in text


def _chain(exc: BaseException):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _dg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd / "src"), "NO_COLOR": "1"}
    exe = Path(sys.executable).parent
    return subprocess.run([str(exe / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_dg_scaffolds_and_lists_the_components_jobs_in_the_example_project(tmp_path):
    project = tmp_path / "dg_project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    scaffold = _dg("dg", "scaffold", "defs", "flowassets.FlowComponent", "new_flow",
                   "--path", "flows/new_flow.py", "--flow", "NewFlow", cwd=project)
    assert scaffold.returncode == 0, scaffold.stderr
    assert (project / "flows" / "new_flow.py").exists()

    listed = _dg("dg", "list", "defs", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    jobs = {job["name"]: job for job in json.loads(listed.stdout)["jobs"]}
    assert jobs["GreetingsFlow"]["source"] == "src/flow_project/defs/hello_flow/defs.yaml:1"
    assert jobs["NewFlow"]["source"] == "src/flow_project/defs/new_flow/defs.yaml:1"



def test_component_builds_its_jobs_with_the_given_configs(isolated_store):
    """``configs:`` in defs.yaml: the job is built with them (the pod's cpu comes from them)."""
    import json as _json

    from flowassets.compute.kubernetes import K8S_CONFIG_TAG

    flow_file = ROOT / "tests" / "compute" / "flows_configs.py"
    attributes = {"path": str(flow_file), "configs": {"cfg": {"cpu": 3, "memory": 500,
                                                               "image": "python:3.12"}}}
    with create_defs_folder_sandbox() as sandbox:
        with _component_defs(sandbox, "configured", attributes) as (_, defs):
            job = defs.get_job_def("ConfigPodFlow")
            tags = job.graph.node_named("train").definition.tags
    resources = _json.loads(tags[K8S_CONFIG_TAG])["container_config"]["resources"]
    assert resources["requests"]["cpu"] == "3" and job.metadata["config cfg"].value["memory"] == 500


def test_component_with_decorators_adds_them_to_every_step(isolated_store, monkeypatch):
    """``with_decorators:`` in defs.yaml is ``--with``: the flow that fails on each step's first
    attempt succeeds with a retry added to every step, and a bad value fails the load."""
    flake = ROOT / "tests" / "cli" / "flows" / "flaky_first_attempt.py"
    monkeypatch.setenv("KEEP_OK", "1")
    attributes = {"path": str(flake),
                  "with_decorators": ["retry:minutes_between_retries=0",
                                      'environment:vars={"FLAKY_ENV": "on"}']}
    with create_defs_folder_sandbox() as sandbox:
        with _component_defs(sandbox, "flaky", attributes) as (_, defs):
            result = defs.get_job_def("FlakyFirstAttemptFlow").execute_in_process(
                instance=dg.DagsterInstance.get())
    assert result.success
    run = Flow("FlakyFirstAttemptFlow")[result.run_id]
    assert run["start"].task["start_attempt"].data == 1 and run["join"].task["squares"].data == [1, 4, 9]
    assert run["end"].task["env_seen"].data == "on"
    from flowassets.errors import DecoratorError

    with create_defs_folder_sandbox() as sandbox:
        with pytest.raises(Exception) as caught:  # Dagster's ComponentTreeException, caused by ...
            with _component_defs(sandbox, "bad", {"path": str(flake),
                                                  "with_decorators": ["retry:times=-2"]}):
                pass
    cause = caught.value
    while cause is not None and not isinstance(cause, DecoratorError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None and "--with retry:times=-2" in str(cause)

"""``current.run`` / ``current.task`` are the client's objects of the running run and task, and
task ids are unique in the run (issue 12, items 4 and 5), for flowassets' own API.

The flow (tests/flows/current_objects_flow.py) keeps both objects as artifacts in every step and
reads the run through them while it runs; here the finished run is read back as Metaflow's
``current_singleton`` test does: the stored objects, unpickled, reopen the same run and task."""

from __future__ import annotations

import pickle

import dagster as dg

from flowassets import flow_to_job
from flowassets.client import Flow, Run, Task
from flowassets.runtime.task_ids import task_id_for
from flowassets.graph.build import build_graph
from tests.conftest import load_flow

IDS = {"start": ["1"], "left": ["2"], "right": ["3"], "join": ["4"], "spread": ["5"],
       "fan": ["6-0", "6-1", "6-2"], "fan_join": ["7"], "end": ["8"]}


def test_current_objects_and_run_unique_task_ids(isolated_store):
    cls = load_flow("current_objects_flow.py", "CurrentObjectsFlow")
    result = flow_to_job(cls).execute_in_process(instance=dg.DagsterInstance.get(),
                                                 raise_on_error=False)
    assert result.success
    run = Flow("CurrentObjectsFlow")[result.run_id]

    # Item 4: step number in topological order, then the foreach index path; unique in the run.
    assert {step.id: [t.id for t in step] for step in run} == IDS
    join = run["join"].task.data
    assert join.branch_ids == ["2", "3"]
    assert "merge_artifacts found different values" in join.conflict and "'mine'" in join.conflict

    # Item 5: what each task saw of itself while it ran, and its objects read back afterwards.
    for step in run:
        for task in step:
            data = task.data
            assert data.seen == {"task": task.pathspec, "run": run.pathspec, "step": step.id,
                                 "flow": "CurrentObjectsFlow"}
            assert f"task {task.pathspec} has not finished" in data.own_data
            assert isinstance(data.task_obj, Task) and data.task_obj.pathspec == task.pathspec
            assert data.task_obj.parent.parent.id == data.run_obj.id == run.id
            assert data.run_obj[step.id].id == step.id
            assert data.task_obj.data.seen == data.seen  # the stored Task reads its own data
    assert run["left"].task.data.x_from_start == 41
    fan = [t.data for t in run["fan"]]
    assert [d.start_x_via_pickled for d in fan] == [41, 41, 41]
    # A running step lists the tasks finished so far and the one asking (as Metaflow lists
    # the tasks started).
    for task, data in zip(run["fan"], fan):
        assert task.id in data.fan_ids_so_far and set(data.fan_ids_so_far) <= set(IDS["fan"])
    assert run["fan_join"].task.data.fan_ids == run["fan_join"].task.data.fan_tasks_seen == IDS["fan"]
    assert isinstance(run.data.run_obj, Run) and run.data.run_obj.pathspec == run.pathspec
    assert run.data.run_obj.parent.id == "CurrentObjectsFlow"


def test_client_objects_pickle_as_their_pathspec(isolated_store):
    """Compact (no Dagster record inside) and reopened only when used: unpickling needs no
    instance, reading does."""
    cls = load_flow("current_objects_flow.py", "CurrentObjectsFlow")
    result = flow_to_job(cls).execute_in_process(instance=dg.DagsterInstance.get())
    task = Flow("CurrentObjectsFlow")[result.run_id]["fan"]["6-1"]
    blob = pickle.dumps(task)
    assert len(blob) < 200 and b"6-1" in blob
    again = pickle.loads(blob)
    assert again.pathspec == task.pathspec and again.index == 1
    assert again.data.seen == task.data.seen
    assert pickle.loads(pickle.dumps(task.step.run)).data.seen["step"] == "end"


def test_task_ids_come_from_the_place_in_the_run():
    from flowassets.storage.manifest import ForeachFrame

    graph = build_graph(load_flow("current_objects_flow.py", "CurrentObjectsFlow"))
    frame = ForeachFrame("spread", "items", 2, 3)
    assert task_id_for(graph, "start", ()) == "1"
    assert task_id_for(graph, "fan", (frame,)) == "6-2"
    inner = ForeachFrame("fan", "more", 10, 11)
    assert task_id_for(graph, "fan", (frame, inner)) == "6-2-10"


def test_current_run_reads_earlier_steps_without_the_runs_dagster_record(isolated_store):
    """Run on an ephemeral instance (not DAGSTER_HOME's): in a task, ``current.run`` still
    reads earlier steps (its store is known), while a Run unpickled from an artifact, which
    must reopen the run from DAGSTER_HOME's instance, says so clearly."""
    cls = load_flow("current_objects_flow.py", "CurrentObjectsFlow")
    result = flow_to_job(cls).execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.is_node_success("left")  # read current.run["start"].task.data.x
    error = result.failure_data_for_node("fan").error
    assert "is not in the Dagster instance" in str(error) and "DAGSTER_HOME" in str(error), error

"""Loops (a recursive switch: a case naming its own step) with flowassets' own API.

The loop runs inside its step's one op: each pass is a task with its own id (``STEP.PASS``) and
artifacts, read back through the client and listed in the op's output metadata; a bound
(``max_loop_iterations``) fails a loop that does not end, naming flow and step; a resume clones
the passes that finished and restarts at the one that failed (tests/cli has the CLI's side)."""

from __future__ import annotations

import dagster as dg
import pytest

from flowassets.client import Flow
from flowassets.errors import GraphError
from flowassets.graph.build import build_graph
from flowassets.runtime.resource import FlowRuntimeResource
from flowassets.translate.job import default_resources, flow_to_job
from tests.conftest import load_flow


def _run(job: dg.JobDefinition, **run_config) -> dg.ExecuteInProcessResult:
    return job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False,
                                  run_config=run_config or None)


def _failure(result: dg.ExecuteInProcessResult, step: str) -> str:
    event = next(e for e in result.all_events
                 if e.event_type_value == "STEP_FAILURE" and e.step_key == step)
    data = event.event_specific_data
    return data.error.message + (data.user_failure_data.description or ""
                                 if data.user_failure_data else "")


def test_the_loop_is_one_op_whose_outputs_are_its_ways_out():
    cls = load_flow("loop_flow.py")
    graph = build_graph(cls)
    loop = graph["loop_step"]
    assert loop.is_loop and loop.out == ("loop_step", "fan") and loop.exits == ("fan",)
    assert loop.in_steps == ("start",)  # the edge back to itself is not an edge between ops
    assert graph.order == ("start", "loop_step", "fan", "spin", "leave", "join", "end")
    assert graph["spin"].is_loop and graph.inside_foreach(graph["spin"])
    job = flow_to_job(cls)
    op = job.graph.node_named("loop_step").definition
    assert list(op.output_dict) == ["fan"]
    upstream = job.graph.dependency_structure.input_to_upstream_outputs_for_node("loop_step")
    assert [o.node.name for outs in upstream.values() for o in outs] == ["start"]


def test_every_pass_is_a_task_with_its_own_artifacts():
    result = _run(flow_to_job(load_flow("loop_flow.py")))
    assert result.success
    run = Flow("LoopFlow")[result.run_id]
    passes = list(run["loop_step"].tasks())
    assert [(t.id, t.iteration) for t in passes] == [("2.0", 0), ("2.1", 1), ("2.2", 2), ("2.3", 3)]
    assert run["fan"].task.iteration is None
    assert [(t.data.count, t.data.status) for t in passes] == [
        (1, "again"), (2, "again"), (3, "again"), (4, "done")]
    assert [t.stdout for t in passes] == ["pass 1\n", "pass 2\n", "pass 3\n", "pass 4\n"]
    assert run["loop_step"]["2.2"].pathspec == f"LoopFlow/{result.run_id}/loop_step/2.2"
    assert [t.record.input_tasks for t in passes] == [
        ("start/1",), ("loop_step/2.0",), ("loop_step/2.1",), ("loop_step/2.2",)]
    assert run["fan"].task.record.input_tasks == ("loop_step/2.3",)  # only the last pass leaves
    # Inside a foreach, one chain per item, each looping its own number of times.
    spins = [(t.id, t.index, t.data.turns) for t in run["spin"].tasks()]
    assert spins == [("4-0.0", 0, 1), ("4-1.0", 1, 1), ("4-1.1", 1, 2), ("4-1.2", 1, 3)]
    assert [t.id for t in run["leave"].tasks()] == ["5-0", "5-1"]
    assert run["join"].task.data.turns_per_item == [1, 3] and run["join"].task.data.count == 4


def test_the_passes_are_in_the_op_output_metadata():
    result = _run(flow_to_job(load_flow("loop_flow.py")))
    outputs = {e.step_key: e.event_specific_data.metadata for e in result.all_events
               if e.event_type_value == "STEP_OUTPUT"}
    loop = outputs["loop_step"]
    rows = [r.data for r in loop["loop passes"].value.records]
    assert [(r["task"], r["pass"], r["next"]) for r in rows] == [
        ("2.0", 0, "loop_step"), ("2.1", 1, "loop_step"), ("2.2", 2, "loop_step"),
        ("2.3", 3, "fan")]
    assert loop["loop passes per chain"].value == 4 and loop["tasks"].value == 4
    # Each pass's own writes: "count" changes every pass, "status" only when it changes.
    written = [(r.data["task"], r.data["artifact"]) for r in loop["artifacts written"].value.records]
    assert written == [("2.0", "count"), ("2.0", "status"), ("2.1", "count"), ("2.2", "count"),
                       ("2.3", "count"), ("2.3", "status")]
    assert outputs["spin"]["loop passes per chain"].value == "[0]: 1, [1]: 3"


def test_a_loop_past_max_loop_iterations_fails_naming_flow_step_and_bound():
    job = flow_to_job(load_flow("loop_flow.py"))
    result = _run(job, ops={"start": {"config": {"target": 50}}},
                  resources={"flowassets_runtime": {"config": {"max_loop_iterations": 5}}})
    assert not result.success
    text = _failure(result, "loop_step")
    assert "flow LoopFlow, step 'loop_step'" in text and "made 5 passes" in text
    assert "--max-loop-iterations=5" in text and "'status'" in text
    # The passes made are kept (a resume continues from them); no step after the loop ran.
    assert sorted(Flow("LoopFlow")[result.run_id]["loop_step"].run.store.finished_tasks(
        result.run_id, "loop_step")) == ["2.0", "2.1", "2.2", "2.3", "2.4"]
    assert not any(e.step_key == "fan" for e in result.all_events if e.is_step_event)


def test_the_bound_is_per_chain_and_a_resource_setting():
    """Inside a foreach each item's chain has the bound to itself: items 1 and 3 make 4 passes
    of ``spin`` in all, and fit a bound of 3 (the most one chain makes)."""
    resources = {**default_resources(), "flowassets_runtime": FlowRuntimeResource(max_loop_iterations=3)}
    job = flow_to_job(load_flow("loop_flow.py"), resources=resources)
    result = _run(job, ops={"start": {"config": {"target": 3}}})
    assert result.success
    assert len(list(Flow("LoopFlow")[result.run_id]["spin"])) == 4
    failed = _run(job)  # target 4: the fourth pass of loop_step is one too many
    assert "made 3 passes (the last is task 2.2)" in _failure(failed, "loop_step")


def test_a_loop_inside_a_foreach_names_the_item_when_it_runs_away():
    resources = {**default_resources(), "flowassets_runtime": FlowRuntimeResource(max_loop_iterations=2)}
    result = _run(flow_to_job(load_flow("loop_flow.py"), resources=resources),
                  ops={"start": {"config": {"target": 1}}})
    text = _failure(result, "spin")
    assert "step 'spin' (foreach index 1 of 2, input 3)" in text and "task 4-1.1" in text


LOOP_TO_EARLIER = '''
from flowassets import FlowSpec, step

class BackFlow(FlowSpec):
    @step
    def start(self):
        self.n = 0
        self.next(self.work)

    @step
    def work(self):
        self.n += 1
        self.next(self.check)

    @step
    def check(self):
        self.more = "yes" if self.n < 3 else "no"
        self.next({"yes": self.work, "no": self.end}, condition="more")

    @step
    def end(self):
        pass
'''

LOOP_ON_START = '''
from flowassets import FlowSpec, step

class StartLoopFlow(FlowSpec):
    @step
    def start(self):
        self.more = "no"
        self.next({"yes": self.start, "no": self.end}, condition="more")

    @step
    def end(self):
        pass
'''


@pytest.mark.parametrize("source, code, words", [
    (LOOP_TO_EARLIER, "switch-loop", ["step 'check'", "loops back to an earlier step",
                                      "['check', 'work']", "only to its own step"]),
    (LOOP_ON_START, "loop-on-start", ["step 'start'", "cannot begin the flow"]),
])
def test_loops_flowassets_cannot_run_are_refused_at_build_time(tmp_path, source, code, words):
    path = tmp_path / "flow.py"
    path.write_text(source)
    with pytest.raises(GraphError) as err:
        flow_to_job(load_flow(path))
    assert code in err.value.codes
    for word in words:
        assert word in str(err.value)


RETRIED_PASS = '''
from flowassets import FlowSpec, current, retry, step

class RetryLoopFlow(FlowSpec):
    @step
    def start(self):
        self.count = 0
        self.next(self.spin)

    @retry(times=1, minutes_between_retries=0)
    @step
    def spin(self):
        self.count += 1
        if self.count == 2 and current.retry_count == 0:
            raise RuntimeError("flaky pass")
        self.tries = current.retry_count
        self.more = "yes" if self.count < 3 else "no"
        self.next({"yes": self.spin, "no": self.end}, condition="more")

    @step
    def end(self):
        pass
'''


def test_retry_reruns_the_failed_pass_only(tmp_path):
    path = tmp_path / "retry_loop.py"
    path.write_text(RETRIED_PASS)
    result = _run(flow_to_job(load_flow(path)))
    assert result.success
    passes = [(t.id, t.data.count, t.data.tries, t.record.attempt)
              for t in Flow("RetryLoopFlow")[result.run_id]["spin"]]
    assert passes == [("2.0", 1, 0, 0), ("2.1", 2, 1, 1), ("2.2", 3, 0, 0)]


def test_a_loop_steps_artifact_asset_is_its_last_pass():
    from flowassets import build_definitions, flow_to_assets

    assets = flow_to_assets(load_flow("loop_flow.py"), artifacts={"count": "loop_step"})
    defs = build_definitions([], assets=[assets])
    instance = dg.DagsterInstance.get()
    result = defs.resolve_job_def("LoopFlow").execute_in_process(instance=instance)
    event = instance.get_latest_materialization_event(dg.AssetKey(["LoopFlow", "count"]))
    meta = event.asset_materialization.metadata
    assert meta["flowassets/pathspec"].value == f"LoopFlow/{result.run_id}/loop_step/2.3"
    assert Flow("LoopFlow")[result.run_id]["loop_step"]["2.3"].data.count == 4

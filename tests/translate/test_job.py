"""The translator: job shape, naming, parameters as config, user assets beside flows."""

from __future__ import annotations

import dagster as dg
import pytest

from flowassets import FlowTranslator, build_definitions, flow_to_job
from flowassets.client import Flow
from flowassets.errors import FlowassetsError
from tests.conftest import load_flow


def test_one_op_per_step_named_after_the_step():
    flow = load_flow("params_flow.py")
    job = flow_to_job(flow)
    assert job.name == "ParamsFlow"
    assert {n.name for n in job.graph.nodes} == {"start", "end"}
    node = job.graph.node_named("start")
    assert node.definition.name == "ParamsFlow__start"
    assert node.definition.description == "First step."
    assert job.description == "Exercises every Parameter type."


def test_parameters_are_typed_config_with_defaults_and_help():
    job = flow_to_job(load_flow("params_flow.py"))
    fields = job.graph.node_named("start").definition.config_schema.config_type.fields
    assert fields["count"].config_type.given_name == "Int"
    assert fields["count"].default_value == 2
    assert fields["count"].description == "how many"
    assert fields["ratio"].config_type.given_name == "Float"
    assert fields["loud"].config_type.given_name == "Bool"
    assert fields["config"].default_value == '{"a": 1}'


def test_run_config_parameters_reach_the_flow(isolated_store):
    job = flow_to_job(load_flow("params_flow.py"))
    result = job.execute_in_process(
        run_config={"ops": {"start": {"config": {"count": 4, "loud": True, "config": '{"b": [1, 2]}'}}}},
        instance=dg.DagsterInstance.get(),
    )
    assert result.success
    run = Flow("ParamsFlow")[result.run_id]
    assert run["end"].task["summary"].data == (4, 0.5, True, "x", {"b": [1, 2]})
    assert run["start"].task.data.total == 2.0


def test_two_flows_with_the_same_step_names_share_one_definitions():
    first = load_flow("two_starts.py", "FirstFlow")
    second = load_flow("two_starts.py", "SecondFlow")
    defs = build_definitions([first, second])
    repo = defs.get_repository_def()  # raises on conflicting op names
    assert {j.name for j in repo.get_all_jobs()} >= {"FirstFlow", "SecondFlow"}


def test_user_asset_next_to_translated_flows_runs(isolated_store):
    @dg.asset
    def user_numbers() -> list[int]:
        return [1, 2, 3]

    defs = build_definitions([load_flow("two_starts.py", "FirstFlow")], assets=[user_numbers])
    instance = dg.DagsterInstance.get()
    job_result = defs.get_job_def("FirstFlow").execute_in_process(instance=instance)
    assert job_result.success
    asset_result = dg.materialize([user_numbers], instance=instance)
    assert asset_result.output_for_node("user_numbers") == [1, 2, 3]
    assert Flow("FirstFlow").latest_run["start"].task.data.x == 1


def test_translator_hooks_can_be_overridden():
    class Prefixed(FlowTranslator):
        def get_job_name(self, graph):
            return "team_" + super().get_job_name(graph)

        def get_op_tags(self, graph, node):
            return {**super().get_op_tags(graph, node), "owner": "ml"}

    job = flow_to_job(load_flow("params_flow.py"), Prefixed())
    assert job.name == "team_ParamsFlow"
    assert job.graph.node_named("end").definition.tags["owner"] == "ml"


def test_failing_step_fails_the_run_with_the_users_error(isolated_store):
    job = flow_to_job(load_flow("failing_flow.py"))
    result = job.execute_in_process(raise_on_error=False, instance=dg.DagsterInstance.get())
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    text = failure.event_specific_data.user_failure_data.description
    assert "FailingFlow" in text and "'boom'" in text and "42 rows missing" in text
    assert failure.step_key == "boom"


def test_not_a_flow_class_is_refused():
    with pytest.raises(FlowassetsError):
        flow_to_job(int)

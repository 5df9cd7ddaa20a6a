"""Config values reach the job when it is built: a config-driven @kubernetes/@resources cpu and
memory land in the op's dagster-k8s config (and the pod dagster-k8s builds from it), for
flowassets' own API and for an unchanged Metaflow file; a bad resolved value is refused at
build time naming flow, step and the decorator or parameter."""

from __future__ import annotations

import json

import pytest

from flowassets import flow_to_job
from flowassets.compute.kubernetes import K8S_CONFIG_TAG
from flowassets.errors import DecoratorError, FlowDefinitionError
from flowassets.translate.translator import CONFIGS_TAG, FlowTranslator, FlowTranslatorSettings
from tests.compute.flows_configs import ConfigPodFlow
from tests.compute.flows_configs_metaflow import MetaflowConfigPodFlow
from tests.compute.k8s_job import container, op_tags, step_job

BIG = {"cpu": 3, "memory": 5000, "image": "python:3.12", "epochs": 7}


def _requests(job):
    return container(step_job(job)).resources.requests


@pytest.mark.parametrize("cls", [ConfigPodFlow, MetaflowConfigPodFlow])
def test_config_driven_resources_reach_the_ops_k8s_config(cls):
    default = flow_to_job(cls)
    assert _requests(default)["cpu"] == "2"
    assert container(step_job(default)).image == "python:3.11"
    big = flow_to_job(cls, configs={"cfg": BIG})
    tags = op_tags(big, "train")
    resources = json.loads(tags[K8S_CONFIG_TAG])["container_config"]["resources"]
    assert resources["requests"]["cpu"] == "3" and resources["requests"]["memory"] == "5000M"
    assert _requests(big)["cpu"] == "3" and _requests(big)["memory"] == "5000M"
    assert container(step_job(big)).image == "python:3.12"
    # Every run of the job carries the values it was built with (resume rebuilds from them).
    assert json.loads(big.tags[CONFIGS_TAG]) == {"cfg": BIG}
    assert json.loads(default.tags[CONFIGS_TAG])["cfg"]["cpu"] == 2
    # The first job is unchanged by building the second (Metaflow processes classes in place).
    assert _requests(flow_to_job(cls))["cpu"] == "2"


def test_translator_settings_carry_configs_and_job_metadata_shows_them():
    translator = FlowTranslator(FlowTranslatorSettings(configs={"cfg": BIG}))
    job = flow_to_job(ConfigPodFlow, translator)
    assert _requests(job)["cpu"] == "3"
    assert job.metadata["config cfg"].value == BIG
    start = job.graph.node_named("start").definition
    # A Parameter default from a config is resolved with the job: the launchpad shows it.
    assert start.config_schema.config_type.fields["epochs"].default_value == 7


@pytest.mark.parametrize("cls, step_line", [(ConfigPodFlow, "flows_configs.py:14"),
                                            (MetaflowConfigPodFlow, "flows_configs_metaflow.py")])
def test_bad_resolved_value_is_refused_at_build_naming_flow_and_step(cls, step_line):
    with pytest.raises(DecoratorError) as caught:
        flow_to_job(cls, configs={"cfg": {**BIG, "cpu": "lots"}})
    text = str(caught.value)
    assert f"flow {cls.__name__}, step 'train'" in text and step_line in text
    assert "cpu must be a number, got 'lots'" in text


def test_bad_parameter_default_from_a_config_names_the_parameter():
    with pytest.raises(FlowDefinitionError) as caught:
        flow_to_job(ConfigPodFlow, configs={"cfg": {**BIG, "epochs": {"not": "a number"}}})
    problem = caught.value.problems[0]
    assert problem.code == "parameter-bad-default" and problem.flow == "ConfigPodFlow"
    assert "Parameter 'epochs'" in problem.message


def test_an_expression_that_fails_is_refused_naming_flow_step_and_decorator():
    with pytest.raises(DecoratorError) as caught:
        flow_to_job(ConfigPodFlow, configs={"cfg": {"cpu": 1, "memory": 1000}})  # no image
    problem = caught.value.problems[0]
    assert (problem.code, problem.flow, problem.step) == (
        "decorator-config-expr", "ConfigPodFlow", "train")
    assert "@kubernetes" in problem.message and "image" in problem.message


def test_a_run_whose_configs_tag_was_edited_is_refused_and_the_values_are_stored():
    """The launchpad shows the values as the run's flowassets/configs tag; editing it cannot
    change a job built with them, so the start step refuses instead of misleading."""
    import dagster as dg

    job = flow_to_job(ConfigPodFlow, configs={"cfg": BIG})
    ok = job.execute_in_process(instance=dg.DagsterInstance.get())
    assert ok.success
    stored = ok.output_for_node("start").tasks[0].artifacts
    assert {"cfg", "epochs"} <= set(stored)
    from flowassets.client import Flow

    run = Flow("ConfigPodFlow")[ok.run_id]
    assert run["train"].task["cfg"].data == BIG and run.data.epochs == 7
    edited = json.dumps({"cfg": {**BIG, "cpu": 8}})
    bad = job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False,
                                 tags={CONFIGS_TAG: edited})
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.user_failure_data.description
    assert not bad.success and "flow ConfigPodFlow: the run's flowassets/configs tag differs" in message

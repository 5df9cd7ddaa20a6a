"""@batch -> dagster-aws ECS op tags, read back by dagster-aws's own ``EcsStepHandler`` and
checked against the ECS ``RunTask`` request shape from botocore's service model.

No ECS can run on this machine, so nothing is launched: ``EcsStepHandler.__init__`` talks to
the ECS task metadata endpoint and the ECS API, so the handler is made without it and given the
four attributes its tag parsing reads (executor-level cpu/memory/ephemeral storage/overrides, all
unset). Its ``_get_task_overrides`` / ``_get_container_overrides`` are dagster-aws's real code."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator
from dagster_aws.ecs.executor import EcsStepHandler, ecs_executor

from flowassets import FlowassetsError
from flowassets.compute.batch import batch_executor
from flowassets.translate.job import flow_to_job
from tests.compute.flows_batch import (
    BAD, ROLE, BatchAndKubernetesFlow, BatchAndKubernetesStep, BatchFlow, BatchParallelFlow, GpuBatchFlow,
    MergedBatchFlow, QuarterCpuFlow,
)


def train_tags(flow) -> dict[str, str]:
    return dict(flow_to_job(flow).graph.node_named("train").definition.tags)


def ecs_overrides(step_tags: dict[str, str]) -> dict:
    """What EcsStepHandler sends as ``run_task(overrides=...)`` for these op tags."""
    handler = object.__new__(EcsStepHandler)
    handler._cpu = handler._memory = handler._ephemeral_storage = None
    handler._task_overrides = {}
    overrides = handler._get_task_overrides(step_tags)
    container = handler._get_container_overrides(step_tags)
    # As _get_run_task_kwargs does: the step's command goes to the run's container.
    overrides["containerOverrides"] = [{"name": "run", "command": ["dagster", "api", "execute_step"],
                                        **container}]
    return overrides


def assert_valid_run_task(overrides: dict) -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RunTask").input_shape
    report = ParamValidator().validate(
        {"cluster": "flowassets", "taskDefinition": "flowassets-run:1", "overrides": overrides}, shape)
    assert not report.has_errors(), report.generate_report()


def test_defaults_are_metaflows_one_vcpu_and_4096_mb():
    tags = train_tags(BatchFlow)
    assert tags["flowassets/compute"] == "ecs"
    overrides = ecs_overrides(tags)
    assert (overrides["cpu"], overrides["memory"]) == ("1024", "4096")
    assert_valid_run_task(overrides)


def test_gpu_and_iam_role_reach_the_container_and_task_overrides():
    overrides = ecs_overrides(train_tags(GpuBatchFlow))
    assert (overrides["cpu"], overrides["memory"]) == ("4096", "16384")
    assert overrides["taskRoleArn"] == ROLE
    (container,) = overrides["containerOverrides"]
    assert container["resourceRequirements"] == [{"type": "GPU", "value": "2"}]
    assert_valid_run_task(overrides)


def test_resources_and_batch_merge_by_the_larger_value():
    overrides = ecs_overrides(train_tags(MergedBatchFlow))
    assert (overrides["cpu"], overrides["memory"]) == ("8192", "30000")
    assert "taskRoleArn" not in overrides and "resourceRequirements" not in overrides["containerOverrides"][0]


def test_fractional_vcpus_become_cpu_units():
    assert ecs_overrides(train_tags(QuarterCpuFlow))["cpu"] == "256"


def test_undecorated_steps_carry_no_ecs_tags():
    tags = dict(flow_to_job(BatchFlow).graph.node_named("start").definition.tags)
    assert tags["flowassets/compute"] == "local"
    assert not any(key.startswith("ecs/") for key in tags)


def test_the_executor_for_batch_steps_is_dagster_aws_ecs_executor():
    assert batch_executor() is ecs_executor


@pytest.mark.parametrize(("flow", "parameter"), BAD, ids=[f.__name__ for f, _ in BAD])
def test_bad_batch_value_is_refused_at_build_time(flow, parameter):
    with pytest.raises(FlowassetsError) as caught:
        flow_to_job(flow)
    message = str(caught.value)
    assert flow.__name__ in message and "'train'" in message and parameter in message


def test_unsupported_parameters_say_what_is_supported():
    image_flow = next(f for f, p in BAD if p == "image")
    with pytest.raises(FlowassetsError, match="@batch supports cpu, memory, gpu, iam_role"):
        flow_to_job(image_flow)


@pytest.mark.parametrize("flow", [BatchAndKubernetesStep, BatchAndKubernetesFlow])
def test_batch_and_kubernetes_in_one_run_are_refused(flow):
    with pytest.raises(FlowassetsError, match="(Kubernetes|kubernetes)") as caught:
        flow_to_job(flow)
    assert flow.__name__ in str(caught.value)


def test_with_kubernetes_and_batch_are_refused():
    from flowassets.translate.translator import FlowTranslator, FlowTranslatorSettings

    with pytest.raises(FlowassetsError, match="one Dagster run has one executor"):
        flow_to_job(BatchFlow, FlowTranslator(FlowTranslatorSettings(with_kubernetes={})))


def test_task_overrides_tag_is_json_dagster_aws_can_merge():
    tags = train_tags(GpuBatchFlow)
    assert json.loads(tags["ecs/task_overrides"]) == {"taskRoleArn": ROLE}


def test_executor_setting_ecs_gives_jobs_dagster_aws_ecs_executor():
    from flowassets.translate.translator import FlowTranslator, FlowTranslatorSettings

    job = flow_to_job(BatchFlow, FlowTranslator(FlowTranslatorSettings(executor="ecs")))
    assert job.executor_def is ecs_executor


def test_multi_node_parallel_on_batch_is_refused():
    with pytest.raises(FlowassetsError, match="use @kubernetes for a multi-node @parallel step") as caught:
        flow_to_job(BatchParallelFlow)
    assert "BatchParallelFlow" in str(caught.value) and "'train'" in str(caught.value)

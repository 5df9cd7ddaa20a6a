"""@batch -> dagster-aws ECS step tags: the one place each @batch parameter becomes an ECS field.

dagster-aws has no AWS Batch integration; what it has is ``EcsRunLauncher`` (each run an ECS task)
and ``ecs_executor`` (``EcsStepHandler``: each step an ECS task started from the run task's task
definition, with per-op ``ecs/*`` tags as ``run_task`` overrides). So a ``@batch`` step becomes an
ECS task, and only what ``run_task`` overrides can carry is honoured:

=============  ==========================================================================
@batch         ECS (the op tag ``EcsStepHandler`` reads)
=============  ==========================================================================
cpu (vCPUs)    ``ecs/cpu``: CPU units, 1024 per vCPU (task-level ``overrides.cpu``)
memory (MB)    ``ecs/memory``: MiB (task-level ``overrides.memory``)
gpu            ``ecs/container_overrides``: ``resourceRequirements`` ``GPU`` (EC2 capacity only)
iam_role       ``ecs/task_overrides``: ``taskRoleArn``
image          refused: a task's image comes from its task definition, not from ``run_task``
queue          refused: AWS Batch job queues have no ECS counterpart
=============  ==========================================================================

``@resources`` merges in as for ``@kubernetes`` (the larger value wins, Metaflow's rule). One run
has one executor, so a flow cannot mix ``@batch`` with ``@kubernetes`` (or ``--with kubernetes``),
and one ECS task per step cannot host a multi-node ``@parallel`` step; both are refused when the
job is built. Each value alone (ECS cpu/memory limits, the IAM role ARN, the refused image and
queue) is checked earlier, by ``graph/decorator_checks/batch_values.py`` when the graph is built.
Fargate accepts only some cpu/memory pairs; that table is not checked because the launch type
(Fargate or EC2) belongs to the run launcher's config.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import DecoratorError, Problem
from ..graph import model
from ..graph.decorator_checks.batch_values import CPU_UNITS_PER_VCPU
from ..graph.decorator_checks.values import number

CPU_TAG = "ecs/cpu"
MEMORY_TAG = "ecs/memory"
TASK_OVERRIDES_TAG = "ecs/task_overrides"
CONTAINER_OVERRIDES_TAG = "ecs/container_overrides"


def batch_steps(graph: model.FlowGraph) -> tuple[str, ...]:
    return tuple(node.name for node in graph if node.decorator("batch") is not None)


def ecs_tags_for_step(graph: model.FlowGraph, node: model.StepNode) -> dict[str, str] | None:
    """The ``ecs/*`` op tags for a @batch step (None for any other step), as strings, which is
    how ``EcsStepHandler`` reads them (cpu and memory go to ``run_task`` as strings)."""
    spec = node.decorator("batch")
    if spec is None:
        return None
    args = spec.resolved()
    sources = [args] + [s.resolved() for s in node.decorators if s.name == "resources"]
    cpu, memory, gpu = (_largest(sources, key) for key in ("cpu", "memory", "gpu"))
    tags = {CPU_TAG: str(int(cpu * CPU_UNITS_PER_VCPU)), MEMORY_TAG: str(int(memory))}
    if gpu:
        tags[CONTAINER_OVERRIDES_TAG] = json.dumps(
            {"resourceRequirements": [{"type": "GPU", "value": str(int(gpu))}]})
    if args.get("iam_role"):
        tags[TASK_OVERRIDES_TAG] = json.dumps({"taskRoleArn": args["iam_role"]})
    return tags


def _largest(sources: list[dict[str, Any]], key: str) -> float | None:
    """@resources and @batch merge by taking the larger value, as in Metaflow."""
    values = [number(s.get(key)) for s in sources if s.get(key) is not None]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def mixing_problems(graph: model.FlowGraph, kubernetes_steps: tuple[str, ...]) -> list[Problem]:
    """A run has one executor: ECS (dagster-aws) or Kubernetes (dagster-k8s), not both."""
    problems = []
    on_batch = set(batch_steps(graph))
    for step in kubernetes_steps:
        if step in on_batch:
            problems.append(Problem(
                "batch-with-kubernetes", graph.flow_name,
                "the step is sent both to AWS (@batch -> ECS) and to Kubernetes (@kubernetes or "
                "--with kubernetes).", step, graph.file, graph[step].decorator("batch").line,
                "keep one of the two."))
    for step in sorted(on_batch):
        if any(graph[p].kind == model.PARALLEL_SPLIT for p in graph[step].in_steps):
            problems.append(Problem(
                "batch-with-parallel", graph.flow_name,
                "@parallel with @batch needs several machines per step, and dagster-aws's "
                "ecs_executor runs one ECS task per step.", step, graph.file,
                graph[step].decorator("batch").line,
                "use @kubernetes for a multi-node @parallel step."))
    others = [s for s in kubernetes_steps if s not in on_batch]
    if on_batch and others:
        problems.append(Problem(
            "batch-and-kubernetes-in-one-flow", graph.flow_name,
            f"@batch steps ({', '.join(sorted(on_batch))}) run through dagster-aws's ecs_executor "
            f"and Kubernetes steps ({', '.join(others)}) through dagster-k8s; one Dagster run has "
            "one executor.", None, graph.file, None,
            "use @kubernetes or @batch throughout the flow."))
    return problems


def check_batch_flow(graph: model.FlowGraph, kubernetes_steps: tuple[str, ...]) -> None:
    problems = mixing_problems(graph, kubernetes_steps)
    if problems:
        raise DecoratorError(problems)


def batch_executor() -> Any:
    """dagster-aws's ``ecs_executor``: every step an ECS task (it needs the ``EcsRunLauncher``)."""
    from dagster_aws.ecs import ecs_executor

    return ecs_executor

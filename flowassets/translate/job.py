"""Entry points: ``flow_to_job`` and ``build_definitions``. Thin on purpose: validate, build
the graph of ops through the translator's hooks, bind default resources."""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

import dagster as dg

from ..errors import FlowassetsError, FlowDefinitionError, Problem
from ..graph import model
from ..graph.build import build_flow, build_graph, flow_class_of, is_flow_class
from ..runtime.resource import FlowRuntimeResource
from ..storage.io_manager import ArtifactStoreResource, FlowManifestIOManager
from .ops import UPSTREAM_INPUT, build_step_op
from .translator import IO_MANAGER_KEY, FlowTranslator


def default_resources() -> dict[str, Any]:
    from .assets import artifact_resources

    store = ArtifactStoreResource()
    return {
        "flowassets_store": store,
        "flowassets_runtime": FlowRuntimeResource(),
        IO_MANAGER_KEY: FlowManifestIOManager(store=store),
        **artifact_resources(store),
    }


def _resources(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    resources = default_resources()
    if overrides and "flowassets_store" in overrides:
        overrides = {**overrides, "flowassets_store": _store_resource(overrides["flowassets_store"])}
    if overrides:
        resources.update(overrides)
        if "flowassets_store" in overrides and IO_MANAGER_KEY not in overrides:
            resources[IO_MANAGER_KEY] = FlowManifestIOManager(store=overrides["flowassets_store"])
        if "flowassets_store" in overrides:
            from .assets import ARTIFACT_IO_MANAGER_KEY, artifact_resources

            if ARTIFACT_IO_MANAGER_KEY not in overrides:
                resources.update(artifact_resources(overrides["flowassets_store"]))
    return resources


def _store_resource(resource: Any) -> Any:
    """``flowassets_store=`` may be a client resource a deployment already configures
    (dagster-aws's ``S3Resource``): the store then uses the client it builds."""
    from ..storage.resource_clients import kind_of

    if kind_of(resource) is None:
        return resource
    from ..storage.store_resources import store_resource_for

    return store_resource_for(resource)


def flow_to_job(flow_cls: type, translator: FlowTranslator | None = None,
                resources: Mapping[str, Any] | None = None,
                configs: Mapping[str, Any] | None = None, partitions_def: Any = None,
                partition_parameter: str | None = None) -> dg.JobDefinition:
    """Translate a FlowSpec class into a Dagster job with one op per step.

    ``partitions_def`` (a Dagster ``PartitionsDefinition``, or ``@partitioned``'s arguments as
    a mapping) and ``partition_parameter``: partition the job, each partition's key becoming
    that Parameter (else the translator settings', else the flow's ``@partitioned``).

    ``configs``: Config name -> value to build with (else the translator settings' ``configs``,
    else the flow's defaults); decorator arguments and Parameter defaults that use them are
    resolved now, and the start step stores the values. Raises ``FlowDefinitionError`` (a
    ``FlowassetsError``) listing every problem in the flow.
    """
    flow_cls = flow_class_of(flow_cls)
    if not is_flow_class(flow_cls):
        raise FlowassetsError(f"{flow_cls!r} is not a FlowSpec subclass.")
    translator = with_settings(translator or FlowTranslator(), configs=configs,
                               partitions_def=partitions_def, partition_parameter=partition_parameter)
    flow_cls, graph = build_flow(flow_cls, translator.settings.configs,
                                 translator.get_with_decorators(flow_cls))
    check_runs_without_file(graph, translator)
    partitioning = translator.get_partitioning(graph)
    ops = {name: build_step_op(translator, flow_cls, graph, graph[name], partitioning)
           for name in graph.order}
    deps: dict[dg.NodeInvocation, dict[str, Any]] = {}
    for node in graph:
        invocation = dg.NodeInvocation(ops[node.name].name, alias=node.name)
        if node.name == "start":
            deps[invocation] = {}
            continue
        sources = [
            dg.DependencyDefinition(parent, node.name if graph[parent].kind == model.SWITCH else "result")
            for parent in node.in_steps
        ]
        deps[invocation] = {UPSTREAM_INPUT: dg.MultiDependencyDefinition(sources)}
    job_graph = dg.GraphDefinition(
        name=translator.get_job_name(graph), node_defs=list(ops.values()), dependencies=deps,
        description=translator.get_job_description(graph),
    )
    return job_graph.to_job(
        resource_defs=_resources(resources), executor_def=translator.get_executor(graph),
        tags=dict(translator.get_job_tags(graph)), metadata=dict(translator.get_job_metadata(graph)),
        config=partitioning.partitioned_config() if partitioning is not None else None,
    )


def with_settings(translator: FlowTranslator, **given: Any) -> FlowTranslator:
    """A copy of ``translator`` whose settings take the arguments that are not None (the
    caller's own translator is left as it was)."""
    given = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in given.items() if v is not None}
    if not given:
        return translator
    from dataclasses import replace

    translator = copy.copy(translator)
    translator.settings = replace(translator.settings, **given)
    return translator


#: What to do with a notebook flow that needs other processes; the Runner is named, not imported.
NOTEBOOK_FIX = ("save the flow's cell to a .py file and run that (`flowassets run FILE`, or "
                "flowassets.Runner(FILE)), or run it with flowassets.NBRunner(FlowClass), which "
                "writes the cell to a file and runs it so.")


def check_runs_without_file(graph: model.FlowGraph, translator: FlowTranslator) -> None:
    """A flow defined in a notebook cell has no file (``graph.file`` is None): it exists only in
    this process. Its job runs here (``execute_in_process``; tasks fork and inherit the class),
    but a step worker, a task pod or an ECS task imports the flow from its file: refused now,
    naming each such step, rather than failing in a pod."""
    if graph.file is not None:
        return
    cell = next((node.file for node in graph if node.file), "a notebook cell")
    where = f"defined in {cell}, so it has no file that another process can import"
    problems = []
    executor = translator.settings.executor
    if executor not in (None, "in_process"):
        problems.append(Problem(
            "flow-without-file", graph.flow_name,
            f"the {executor!r} executor runs steps in other processes, but the flow is {where}.",
            fix=NOTEBOOK_FIX))
    for node in graph:
        elsewhere = ("on Kubernetes" if translator.get_k8s_config(graph, node) is not None else
                     "on AWS Batch (ECS)" if translator.get_ecs_tags(graph, node) is not None else None)
        if elsewhere:
            problems.append(Problem(
                "flow-without-file", graph.flow_name,
                f"the step runs {elsewhere}, where its tasks import the flow, but the flow is {where}.",
                node.name, node.file, node.line, NOTEBOOK_FIX))
    if problems:
        raise FlowDefinitionError(problems)


def build_definitions(flows: Iterable[type], translator: FlowTranslator | None = None,
                      assets: Iterable[Any] = (), jobs: Iterable[Any] = (),
                      **resources: Any) -> dg.Definitions:
    """All flows as jobs in one Definitions, with the user's own assets/jobs beside them.

    Keyword arguments override resources (e.g. ``flowassets_store=ArtifactStoreResource(...)``,
    or a deployment's own ``S3Resource(...)``: the store then uses the client it builds).
    A flow given as assets (``flow_to_assets``) in ``assets`` gets its job too, named after it,
    and its @schedule / @trigger_on_finish target that asset job.
    """
    from .assets import flow_asset_job, flow_asset_triggers
    from .triggers import schedule_for, schedule_from, sensor_for, sensor_from

    flow_jobs, schedules, sensors = [], [], []
    for flow in map(flow_class_of, flows):
        job = flow_to_job(flow, translator, resources)
        graph = (build_graph(flow, translator.settings.configs, translator.get_with_decorators(flow))
                 if translator else build_graph(flow))
        flow_jobs.append(job)
        schedules += [s for s in [schedule_for(graph, job)] if s is not None]
        sensors += [s for s in [sensor_for(graph, job)] if s is not None]
    assets = list(assets)
    for asset in assets:
        job = flow_asset_job(asset) if isinstance(asset, dg.AssetsDefinition) else None
        if job is None:
            continue
        flow_jobs.append(job)
        triggers = flow_asset_triggers(asset)  # an asset-backed flow's @schedule / sensor
        if triggers:
            schedules += [s for s in [schedule_from(triggers, job)] if s is not None]
            sensors += [s for s in [sensor_from(triggers, job)] if s is not None]
    return dg.Definitions(jobs=[*flow_jobs, *jobs], assets=assets, schedules=schedules,
                          sensors=sensors, resources=_resources(resources))

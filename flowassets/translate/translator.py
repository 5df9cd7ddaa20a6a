"""``FlowTranslator``: how a flow becomes a Dagster job, one small overridable hook per decision.

Modelled on dagster-dbt's ``DagsterDbtTranslator``: subclass it and override one ``get_*``
method to change one thing (a job name prefix, extra op tags, another IO manager) without
copying the rest.

    class MyTranslator(FlowTranslator):
        def get_op_tags(self, graph, node):
            return {**super().get_op_tags(graph, node), "team": "ml"}
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import dagster as dg

from ..authoring.decorators import DecoratorSpec
from ..authoring.decospecs import decospec_text, parse_decospecs
from ..compute.kubernetes import COMPUTE_TAG, K8S_CONFIG_TAG, TASK_PODS_TAG, k8s_config_for_step
from ..graph import model
from ..storage.manifest import StepResult
from .metadata import step_output_metadata
from .ops import config_key
from .partitions import FlowPartitioning, check_partitioning, declared_partitions, partitions_def_from_args

FLOW_TAG = "flowassets/flow"
STEP_TAG = "flowassets/step"
CONFIGS_TAG = "flowassets/configs"
IO_MANAGER_KEY = "flowassets_io_manager"
_DAGSTER_TYPES = {"str": dg.String, "int": dg.Int, "float": dg.Float, "bool": dg.Bool, "JSON": dg.String,
                  "file": dg.String}


@dataclass(frozen=True)
class FlowTranslatorSettings:
    """Switches that change the translation as a whole (not one hook)."""

    job_name_prefix: str = ""
    op_metadata_max_tasks: int = 20  # tasks listed one by one in op metadata
    #: Step decorators added to every step, as Metaflow's ``--with``: texts like ``"retry"``,
    #: ``"catch:var=err"``, ``"kubernetes:cpu=2,memory=8000"`` (``authoring.decospecs``). A step
    #: that has the decorator keeps its own (except @card, which a step may carry several
    #: times); the values are checked with the step's own when the job is built.
    with_decorators: Sequence[str] = ()
    #: Kept for compatibility: ``with_kubernetes={"cpu": 2}`` is ``with_decorators=
    #: ["kubernetes:cpu=2"]`` (``{}``: @kubernetes with its defaults on every step).
    with_kubernetes: Mapping[str, Any] | None = None
    #: None: "auto" when a step runs on Kubernetes (the hybrid executor on an instance with a
    #: K8sRunLauncher, in-process elsewhere), else in-process. Or a name from
    #: ``flowassets.compute.executors.EXECUTORS``: "hybrid" (@kubernetes steps as dagster-k8s
    #: Jobs, the rest as local processes), "k8s" (dagster-k8s's k8s_job_executor: every step a
    #: Job), "multiprocess", "in_process".
    executor: str | None = None
    #: Config name -> value to build the job with (None, or a config left out: the flow's
    #: default). Configs shape the job (decorator arguments), so they are fixed per job; the
    #: values are what a step sees (a mapping, or anything for a plain config), not text.
    configs: Mapping[str, Any] | None = None
    #: Partitions for the job (else the flow's ``@partitioned``): a Dagster
    #: ``PartitionsDefinition``, or ``@partitioned``'s arguments as a mapping (YAML-friendly:
    #: ``{"daily": "2026-01-01"}``). Each partition's key becomes ``partition_parameter``.
    partitions_def: Any = None
    #: The flow Parameter each partition's key becomes (else ``@partitioned(parameter=...)``).
    partition_parameter: str | None = None

    def __post_init__(self) -> None:
        given = self.with_decorators
        object.__setattr__(self, "with_decorators",
                           (given,) if isinstance(given, str) else tuple(given or ()))


class FlowTranslator:
    def __init__(self, settings: FlowTranslatorSettings | None = None):
        self.settings = settings or FlowTranslatorSettings()

    # -- graph -----------------------------------------------------------------------------
    def get_with_decorators(self, flow_cls: type) -> tuple[DecoratorSpec, ...]:
        """The decorators ``graph.build`` adds to every step of ``flow_cls`` that lacks them:
        ``settings.with_decorators`` parsed, then ``settings.with_kubernetes``. Override to add
        one per flow, e.g. ``(*super().get_with_decorators(flow_cls), parse_decospec("retry"))``."""
        specs = parse_decospecs(self.settings.with_decorators, flow_cls.__name__)
        k8s = self.settings.with_kubernetes
        if k8s is not None:
            spec = DecoratorSpec("kubernetes", dict(k8s))
            specs += (replace(spec, added_with=decospec_text(spec)),)
        return specs

    # -- job -------------------------------------------------------------------------------
    def get_job_name(self, graph: model.FlowGraph) -> str:
        project = _flow_decorator(graph, "project")
        prefix = self.settings.job_name_prefix
        if project is not None and project.args.get("name"):
            prefix += f"{project.args['name']}__"
        return f"{prefix}{graph.flow_name}"

    def get_job_description(self, graph: model.FlowGraph) -> str | None:
        return graph.doc

    def get_job_tags(self, graph: model.FlowGraph) -> Mapping[str, str]:
        """Every run carries the Config values its job was built with (``flowassets resume``
        rebuilds the job from them, as Metaflow's resume reuses the origin run's configs)."""
        tags = {FLOW_TAG: graph.flow_name}
        if graph.configs:
            import json

            tags[CONFIGS_TAG] = json.dumps(graph.config_values(), sort_keys=True, default=repr)
        return tags

    def get_job_metadata(self, graph: model.FlowGraph) -> Mapping[str, Any]:
        """The Config values the job was built with, shown on the job's page in the UI (they
        are not launchpad fields: they shape the job, so another value is another job)."""
        if not graph.configs:
            return {}
        return {f"config {c.name}": dg.MetadataValue.json(c.value)
                if isinstance(c.value, (dict, list)) else dg.MetadataValue.text(repr(c.value))
                for c in graph.configs}

    def get_executor(self, graph: model.FlowGraph) -> dg.ExecutorDefinition:
        """Kubernetes steps reach the cluster by default wherever the instance has one."""
        name = self.settings.executor
        if name is None:
            if not any(self.get_k8s_config(graph, node) is not None for node in graph):
                from ..compute.local_executor import flowassets_in_process_executor

                return flowassets_in_process_executor
            name = "auto"
        from ..compute.executors import executor_named  # imports dagster-k8s: only when needed

        return executor_named(name)

    def get_config_schema(self, graph: model.FlowGraph) -> dict[str, dg.Field]:
        """Parameters as typed config of the start op, so the launchpad shows them."""
        fields = {}
        for param in graph.parameters:
            default = param.default
            if param.type_name == "JSON" and default is not None and not isinstance(default, str):
                import json

                default = json.dumps(default)
            kwargs: dict[str, Any] = {"description": param.help or f"Parameter {param.name}"}
            if param.default_fn is not None:
                kwargs["description"] += (" (default: computed when the run starts by "
                                          f"{getattr(param.default_fn, '__name__', 'a function')})")
            if param.type_name == "file":
                kwargs["description"] += (" (IncludeFile: path of a file on the machine that runs "
                                          "the start step, read when the run starts)")
            if default is not None:
                kwargs["default_value"] = default
            kwargs["is_required"] = param.required and default is None
            dtype = _DAGSTER_TYPES[param.type_name]
            fields[config_key(param.name)] = dg.Field(
                dtype if kwargs["is_required"] or default is not None else dg.Noneable(dtype), **kwargs)
        return fields

    def get_partitions_def(self, graph: model.FlowGraph) -> dg.PartitionsDefinition | None:
        """The job's partitions: the settings' (a definition, or ``@partitioned``'s arguments as
        a mapping), else the flow's ``@partitioned``. Checked against the Parameter after this
        returns, so an override can compute one, e.g. per flow:
        ``dg.StaticPartitionsDefinition(REGIONS[graph.flow_name])``."""
        given = self.settings.partitions_def
        if isinstance(given, Mapping):
            args = {k: v for k, v in given.items() if k != "parameter"}
            return partitions_def_from_args(graph.flow_name, args, graph.file)
        return given if given is not None else declared_partitions(graph)[0]

    def get_partition_parameter(self, graph: model.FlowGraph) -> str | None:
        """The Parameter that holds each partition's key: the settings' (or a ``parameter`` key
        in their mapping), else ``@partitioned(parameter=...)``."""
        if self.settings.partition_parameter is not None:
            return self.settings.partition_parameter
        given = self.settings.partitions_def
        if isinstance(given, Mapping) and given.get("parameter"):
            return given["parameter"]
        spec = _flow_decorator(graph, "partitioned")
        return spec.args.get("parameter") if spec is not None else None

    def get_partitioning(self, graph: model.FlowGraph) -> FlowPartitioning | None:
        """Partitions and Parameter together, checked (a ``PartitionError`` naming flow and
        parameter otherwise); None for a flow without partitions."""
        return check_partitioning(graph, self.get_partitions_def(graph), self.get_partition_parameter(graph))

    # -- ops -------------------------------------------------------------------------------
    def get_op_name(self, graph: model.FlowGraph, node: model.StepNode) -> str:
        """Unique across every job in one Definitions (two flows may both have `start`)."""
        return f"{graph.flow_name}__{node.name}"

    def get_op_description(self, graph: model.FlowGraph, node: model.StepNode) -> str | None:
        return node.doc

    def get_op_tags(self, graph: model.FlowGraph, node: model.StepNode) -> Mapping[str, Any]:
        tags: dict[str, Any] = {FLOW_TAG: graph.flow_name, STEP_TAG: node.name}
        k8s = self.get_k8s_config(graph, node)
        tags[COMPUTE_TAG] = "kubernetes" if k8s is not None else "local"
        if k8s is not None and (graph.inside_foreach(node) or graph.is_parallel_node(node)):
            # One pod per task (or @parallel node): the op runs beside the run worker and
            # launches them.
            tags[TASK_PODS_TAG] = "true"
        if k8s is not None:
            from ..compute.k8s_manifest import validated_k8s_config

            tags[K8S_CONFIG_TAG] = dict(validated_k8s_config(graph.flow_name, node.name, k8s))
        ecs = self.get_ecs_tags(graph, node)
        if ecs is not None:
            tags[COMPUTE_TAG] = "ecs"
            tags.update(ecs)
        return tags

    def get_ecs_tags(self, graph: model.FlowGraph, node: model.StepNode) -> Mapping[str, str] | None:
        """dagster-aws ``ecs/*`` op tags (read by its ``ecs_executor``) for a @batch step, or None.

        Refuses a flow that sends steps both to ECS and to Kubernetes: one run, one executor."""
        if node.decorator("batch") is None:
            return None
        from ..compute.batch import check_batch_flow, ecs_tags_for_step
        from ..compute.kubernetes import runs_on_kubernetes

        on_k8s = tuple(n.name for n in graph if runs_on_kubernetes(n))
        check_batch_flow(graph, on_k8s)
        return ecs_tags_for_step(graph, node)

    def get_k8s_config(self, graph: model.FlowGraph, node: model.StepNode) -> Mapping[str, Any] | None:
        """dagster-k8s user-defined config for the step's pod, or None for a local step.

        Checked against the Kubernetes schema after this returns, so an override can add raw
        fields: ``{**super().get_k8s_config(graph, node), "pod_spec_config": {...}}``."""
        return k8s_config_for_step(graph, node)

    def get_retry_policy(self, graph: model.FlowGraph, node: model.StepNode) -> dg.RetryPolicy | None:
        """None: @retry is honoured per task inside the op, so one failed foreach task does not
        re-run its siblings."""
        return None

    def get_io_manager_key(self, graph: model.FlowGraph, node: model.StepNode) -> str:
        return IO_MANAGER_KEY

    def get_output_metadata(self, graph: model.FlowGraph, node: model.StepNode,
                            result: StepResult, upstream: tuple[StepResult, ...] = ()) -> Mapping[str, Any]:
        """What the UI shows on the step's output: tasks, artifacts written (type, size, hash),
        foreach index and input per task. ``upstream`` tells written from passed-on artifacts."""
        return step_output_metadata(result, upstream, self.settings.op_metadata_max_tasks)


def _flow_decorator(graph: model.FlowGraph, name: str):
    for spec in graph.flow_decorators:
        if spec.name == name:
            return spec
    return None

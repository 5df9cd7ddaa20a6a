"""One Dagster op per step: the shell around ``runtime.execute_step``.

The op gathers upstream manifests (a fan-in input, so a step after a switch runs when any
branch ran), runs the step's tasks, logs their output, and yields its ``StepResult`` on one
output, or on the chosen branch outputs of a switch (the others are skipped by Dagster).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import dagster as dg
from dagster._core.storage.tags import RESUME_RETRY_TAG

from ..compute.kubernetes import K8S_CONFIG_TAG
from ..errors import FlowassetsError
from ..graph import model
from ..runtime import task_output
from ..runtime.execute import StepSettings, execute_step
from ..runtime.task import RunContext, TaskSpec
from ..storage import run_tags
from ..storage.io_manager import FLOW_METADATA_KEY
from ..storage.manifest import StepResult

DATASTORE_TAG = "flowassets/datastore"
UPSTREAM_INPUT = "upstream"


def output_names(node: model.StepNode) -> tuple[str, ...]:
    """A switch has one output per case's step (a loop's case back to itself is not one: its
    iterations run inside this op); any other step has one ``result``."""
    return node.exits if node.kind == model.SWITCH else ("result",)


def build_step_op(translator: Any, flow_cls: type, graph: model.FlowGraph,
                  node: model.StepNode, partitioning: Any = None) -> dg.OpDefinition:
    """``partitioning`` (a ``partitions.FlowPartitioning``): the start op takes that Parameter
    from the run's partition key."""
    step = node.name
    io_key = translator.get_io_manager_key(graph, node)
    out_meta = {FLOW_METADATA_KEY: graph.flow_name}
    outs = {
        name: dg.Out(dg.Any, is_required=node.kind != model.SWITCH, io_manager_key=io_key,
                     metadata=out_meta)
        for name in output_names(node)
    }
    ins = {} if step == "start" else {UPSTREAM_INPUT: dg.In(dg.Any)}
    config_schema = translator.get_config_schema(graph) if step == "start" else None
    if config_schema is not None and partitioning is not None:
        config_schema = {**config_schema, partitioning.config_key: partitioning.config_field()}

    def compute(context, inputs: dict[str, Any]) -> Iterator[dg.Output]:  # noqa: ANN001
        upstream = inputs.get(UPSTREAM_INPUT) or []
        if isinstance(upstream, StepResult):
            upstream = [upstream]
        store_resource = context.resources.flowassets_store
        runtime = context.resources.flowassets_runtime
        _record_location(context, store_resource.location())
        try:
            check_run_configs(graph, context.run.tags)
            config = context.op_config or {}
            if step == "start" and partitioning is not None:
                config = partitioning.start_config(
                    config, context.partition_key if context.has_partition_key else None)
            params = (_parameter_values(graph, config, flow_cls, _store_kind(store_resource.location()))
                      if step == "start" else {})
        except FlowassetsError as exc:  # e.g. an IncludeFile path that is not there
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        ctx = RunContext(
            flow_cls=flow_cls, graph=graph, store=store_resource.for_flow(graph.flow_name),
            run_id=context.run_id, parameters=params, max_num_splits=runtime.max_num_splits,
            origin_run_id=context.run.root_run_id, tags=run_tags.user_tags(context.run.tags),
        )

        batch = _LogBatch(context.log.info)

        def on_log(label: str, spec: TaskSpec, stdout: bytes, stderr: bytes) -> None:
            for stream, text in (("stdout", stdout), ("stderr", stderr)):
                if text:
                    ctx.store.save_log(context.run_id, step, spec.task_id, spec.attempt, text, stream)
            # Dagster's captured stdout/stderr of this step (the run page's buttons), apart.
            task_output.write_to_step_streams(step, spec.task_id, spec.attempt, stdout, stderr)
            parts = [f"[{label}]"] + [t.decode(errors="replace").rstrip() for t in (stdout, stderr) if t]
            batch.add("\n".join(parts))

        pods = task_pod_target(context, graph, node, store_resource.location())
        try:
            settings = StepSettings(runtime.max_workers, pods=pods, clone_from=clone_origin(context),
                                    max_loop_iterations=runtime.max_loop_iterations)
            result = execute_step(ctx, step, list(upstream), settings, on_log)
        except FlowassetsError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        finally:
            batch.flush()
        metadata = translator.get_output_metadata(graph, node, result, tuple(upstream))
        for name in output_names(node):
            if node.kind != model.SWITCH or any(name in t.next_steps for t in result.tasks):
                yield dg.Output(result, name, metadata=metadata)

    return dg.OpDefinition(
        name=translator.get_op_name(graph, node),
        compute_fn=compute,
        ins=ins,
        outs=outs,
        config_schema=config_schema,
        description=translator.get_op_description(graph, node),
        tags=translator.get_op_tags(graph, node),
        required_resource_keys={"flowassets_store", "flowassets_runtime"},
        retry_policy=translator.get_retry_policy(graph, node),
    )


def clone_origin(context: Any) -> str | None:
    """The run whose finished tasks this op reuses: the parent of a re-execution *from failure*
    (``flowassets resume``, the UI's "Re-execute from failure", Dagster's run retries, all tagged
    ``dagster/is_resume_retry``). A re-execution of chosen steps (``resume STEP``, "from
    selected") re-runs every task of them, as Metaflow's ``resume STEP`` does."""
    run = context.run
    if run.parent_run_id and run.tags.get(RESUME_RETRY_TAG) == "true":
        return run.parent_run_id
    return None


def task_pod_target(context: Any, graph: model.FlowGraph, node: model.StepNode,
                    location: str) -> Any:
    """Where this step's tasks run as pods, or None to fork them in this process.

    A step that runs on Kubernetes gets one pod per task (or per @parallel node) when the
    instance has a cluster (a K8sRunLauncher): launched from here, unless this process already is
    the step's own pod and the step has a single task. Without a K8sRunLauncher, @kubernetes
    steps run here, as on a laptop."""
    tags = context.op_def.tags
    if K8S_CONFIG_TAG not in tags:
        return None
    from ..compute import task_pods
    from ..compute.kubernetes import in_step_pod

    single = not graph.inside_foreach(node) and not graph.is_parallel_node(node)
    if (in_step_pod() and single) or not task_pods.has_k8s_run_launcher(context.instance):
        return None
    task_pods.check_store_reaches_pods(location, graph.flow_name)
    execution = ((context.run_config or {}).get("execution") or {}).get("config") or {}
    return task_pods.target_for_step(context.instance, context.run, tags, context.op_def.name, execution)


class _LogBatch:
    """Task output as Dagster log events, several tasks per event.

    Each event is one SQLite transaction (~3 ms here), so a 200-task foreach that prints wrote
    200 events; now it writes one per ``interval_s`` (and one at the end of the step). The full
    per-task logs are in the store either way (``flowassets logs``)."""

    def __init__(self, emit: Callable[[str], None], interval_s: float = 1.0):
        self.emit, self.interval_s = emit, interval_s
        self.parts: list[str] = []
        self.last = time.monotonic()

    def add(self, text: str) -> None:
        self.parts.append(text)
        if time.monotonic() - self.last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.emit("\n".join(self.parts))
            self.parts = []
        self.last = time.monotonic()


#: (run id, store location) pairs this process already tagged: ``context.run`` is a snapshot
#: taken at run start, so without this every op of an in-process run wrote the tag again
#: (one SQLite transaction per step, ~4 ms).
_TAGGED_RUNS: set[tuple[str, str]] = set()


def _record_location(context: Any, location: str) -> None:
    """Tag the run with its store (the client reads artifacts from there), once."""
    key = (context.run_id, location)
    if key in _TAGGED_RUNS:
        return
    if context.run.tags.get(DATASTORE_TAG) != location:
        context.instance.add_run_tags(context.run_id, {DATASTORE_TAG: location})
    _TAGGED_RUNS.add(key)


def _parameter_values(graph: model.FlowGraph, config: dict[str, Any],
                      flow_cls: type | None = None, datastore: str = "local") -> dict[str, Any]:
    """The start step's inputs, read once per run: Parameters (a callable default called here,
    with a ParameterContext), IncludeFile contents, and the Configs the job was built with."""
    from ..authoring.parameters import Parameter, read_included_file
    from ..runtime.dynamic_defaults import call_default

    values: dict[str, Any] = {c.attr_name: c.value for c in graph.configs}
    for spec in graph.parameters:
        raw = config.get(config_key(spec.name), spec.default)
        if raw is None and spec.default_fn is not None:
            raw = call_default(graph, spec, flow_cls, datastore)
        if spec.type_name == "file":
            # Read once, here in the start step: stored as its artifact, every task sees it.
            values[spec.attr_name] = None if raw is None else read_included_file(
                str(raw), spec.is_text, spec.encoding, graph.flow_name, spec.name)
            continue
        param = Parameter(spec.name, type=_TYPES[spec.type_name])
        values[spec.attr_name] = param.convert(raw, graph.flow_name) if raw is not None else None
    return values


def check_run_configs(graph: model.FlowGraph, run_tags: Any) -> None:
    """Refuse to run a step of a run whose ``flowassets/configs`` tag differs from the values
    this job was built with: the tag was edited (in the launchpad), or the run is a
    re-execution (UI) of a run built with other values (``flowassets run --config-value``).
    Configs shape the job (decorators, pods), so neither can take effect; running would
    mislead."""
    import json

    from ..errors import ParameterError
    from .translator import CONFIGS_TAG

    tagged = run_tags.get(CONFIGS_TAG)
    if tagged is None or not graph.configs:
        return
    try:
        same = json.loads(tagged) == json.loads(json.dumps(graph.config_values(), default=repr))
    except json.JSONDecodeError:
        same = False
    if not same:
        raise ParameterError(
            f"flow {graph.flow_name}: the run's {CONFIGS_TAG} tag differs from the Config values "
            "this job was built with; configs shape the job, so they cannot be changed per run. "
            "Build a job with other values (flow_to_job(cls, configs=...) or "
            "FlowTranslatorSettings(configs=...)), use flowassets run --config-value, or resume "
            "the run with flowassets resume (it rebuilds the job from the run's values).")


def _store_kind(location: str) -> str:
    """Metaflow's ``ds_type`` for a store location (``kind:root``): local, s3, gs or azure."""
    return location.partition(":")[0] or "local"


def config_key(name: str) -> str:
    return name.replace("-", "_")


def _json_type() -> Any:
    from ..authoring.parameters import JSONType

    return JSONType


_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "JSON": _json_type(), "file": str}

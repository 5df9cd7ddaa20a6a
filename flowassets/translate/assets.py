"""A flow's artifacts as Dagster assets: ``flow_to_assets``.

The flow's op graph becomes one graph-backed multi-asset. Each exposed artifact is an extra
output of the op of the step that makes it, so the asset catalog shows the step as the asset's
op, upstream artifacts as its lineage, and one run of the flow materializes them all:

    train = flow_to_assets(TrainFlow, artifacts=["features", "model"])

    @dg.asset(ins={"model": dg.AssetIn(key=["TrainFlow", "model"])})
    def report(model): ...

    defs = build_definitions([], assets=[train, report])   # adds the job "TrainFlow"

Artifact values never travel through Dagster: the asset output carries a pointer (blob hash
and where it came from) recorded as materialization metadata, and the artifact IO manager reads
the value from the content-addressed store when a downstream asset asks for it.
"""

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import dagster as dg

from ..errors import FlowassetsError
from ..graph import model
from ..graph.build import build_graph
from ..graph.parse import step_functions
from ..storage.io_manager import ArtifactStoreResource
from ..storage.manifest import ArtifactRef, StepResult
from .translator import FLOW_TAG, FlowTranslator

ARTIFACT_IO_MANAGER_KEY = "flowassets_artifact_io_manager"
_MANY_TASK_KINDS = (model.FOREACH, model.PARALLEL_SPLIT)
_META = "flowassets/"
END_OUTPUT = "flow_end"  # prefix of the metadata keys the IO manager reads back
#: The graph inside the asset is "<job>__assets": a graph named like the job that runs it
#: would be two graph definitions of one name in the code location, which Dagster refuses to
#: load ("Conflicting definitions ... GraphDefinition is defined in job X and in job X").
ASSET_GRAPH_SUFFIX = "__assets"


class AssetDefinitionError(FlowassetsError):
    """An artifact cannot be exposed as an asset (unknown name, many tasks, bad step)."""


@dataclass(frozen=True)
class ArtifactPointer:
    """What an asset output carries: where the artifact's value is, not the value."""

    flow: str
    run_id: str
    step: str
    task_id: str
    name: str
    ref: ArtifactRef

    def metadata(self) -> dict[str, Any]:
        return {
            f"{_META}flow": self.flow, f"{_META}run_id": self.run_id,
            f"{_META}step": self.step, f"{_META}pathspec": f"{self.flow}/{self.run_id}/{self.step}/{self.task_id}",
            f"{_META}artifact": self.name, f"{_META}sha256": self.ref.sha,
            f"{_META}encoding": self.ref.encoding, f"{_META}type": self.ref.type,
            "size (bytes)": self.ref.size,
        }


class FlowArtifactIOManager(dg.ConfigurableIOManager):
    """Reads an artifact asset's value from the store; writes nothing (the step already did)."""

    store: ArtifactStoreResource

    def handle_output(self, context: dg.OutputContext, obj: ArtifactPointer) -> None:
        return None  # the blob is in the store and the pointer is in the materialization

    def load_input(self, context: dg.InputContext) -> Any:
        key = context.asset_key
        event = _latest_materialization(context, key)
        meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
        if f"{_META}sha256" not in meta:
            raise dg.Failure(f"asset {key.to_user_string()} has no flowassets materialization "
                             "yet: run its flow first.")
        value = {k[len(_META):]: v.value for k, v in meta.items() if k.startswith(_META)}
        ref = ArtifactRef(value["sha256"], value["encoding"], int(meta["size (bytes)"].value), value["type"])
        try:  # the run's own store (run config reaches the top-level resource, not this copy)
            store = context.step_context.resources.flowassets_store
        except (dg.DagsterInvariantViolationError, AttributeError):
            store = self.store
        return store.for_flow(value["flow"]).load(ref, f"{value['pathspec']}.{value['artifact']}")


def _latest_materialization(context: dg.InputContext, key: dg.AssetKey) -> Any:
    """The upstream asset's latest materialization; of a partitioned flow's asset, the one of
    the partition this run reads (its artifacts were computed for that key)."""
    partition = None
    try:
        if context.has_asset_partitions:
            partition = context.asset_partition_key
    except dg.DagsterInvariantViolationError:  # a range of partitions: the latest of all
        partition = None
    if partition is None:
        return context.instance.get_latest_materialization_event(key)
    found = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records
    return found[0].event_log_entry if found else None


def artifact_resources(store: ArtifactStoreResource) -> dict[str, Any]:
    return {ARTIFACT_IO_MANAGER_KEY: FlowArtifactIOManager(store=store)}


def flow_to_assets(flow_cls: type, artifacts: Sequence[str] | Mapping[str, str] | None = None,
                   translator: FlowTranslator | None = None,
                   key_prefix: str | Sequence[str] | None = None,
                   group_name: str | None = None, partitions_def: Any = None,
                   partition_parameter: str | None = None) -> dg.AssetsDefinition:
    """The flow as one graph-backed multi-asset, one asset per exposed artifact.

    ``artifacts``: names (each made by the last single-task step that assigns it, found in the
    step bodies' source), ``{name: step}`` to say which step's value to take, or None for every
    artifact the flow's single-task steps assign (what reaches ``end`` in a linear flow). Asset
    keys are ``[flow name, artifact]`` unless ``key_prefix`` is given. ``partitions_def`` and
    ``partition_parameter`` (or the flow's ``@partitioned``) partition every asset, as
    ``flow_to_job``'s: each partition's materialization is one run with that Parameter.
    """
    from .job import flow_to_job, with_settings

    translator = with_settings(translator or FlowTranslator(), partitions_def=partitions_def,
                               partition_parameter=partition_parameter)
    graph = build_graph(flow_cls, translator.settings.configs,
                        translator.get_with_decorators(flow_cls))
    producers = artifact_producers(flow_cls, graph, artifacts)
    job = flow_to_job(flow_cls, translator)
    prefix = [graph.flow_name] if key_prefix is None else (
        [key_prefix] if isinstance(key_prefix, str) else list(key_prefix))
    by_step: dict[str, list[str]] = {}
    for name, step in producers.items():
        by_step.setdefault(step, []).append(name)
    node_defs = []
    for node in graph:
        op_def = job.graph.node_named(node.name).definition
        if node.name in by_step or node.name == "start":
            op_def = _with_asset_outputs(op_def, graph, node, by_step.get(node.name, []),
                                         required=artifacts is not None)
        node_defs.append(op_def)
    mappings = [dg.OutputMapping(graph_output_name=_output_name(name), mapped_node_name=step,
                                 mapped_node_output_name=_output_name(name))
                for name, step in producers.items()]
    # Dagster wants every leaf op to make an asset: `end` makes the flow's own asset (its task
    # manifest), which also gives downstream assets a "the whole flow finished" dependency.
    mappings.append(dg.OutputMapping(graph_output_name=END_OUTPUT, mapped_node_name="end",
                                     mapped_node_output_name="result"))
    graph_def = dg.GraphDefinition(
        name=job.graph.name + ASSET_GRAPH_SUFFIX, node_defs=node_defs, dependencies=job.graph.dependencies,
        output_mappings=mappings, description=job.graph.description,
        tags=dict(translator.get_job_tags(graph)),
    )
    keys = {_output_name(n): dg.AssetKey([*prefix, n]) for n in producers}
    keys[END_OUTPUT] = dg.AssetKey([*prefix, "end"])
    descriptions = {_output_name(n): f"Artifact {n!r} of flow {graph.flow_name}, made by step {s!r}."
                    for n, s in producers.items()}
    descriptions[END_OUTPUT] = f"Flow {graph.flow_name} finished (the end step's task manifest)."
    from .triggers import triggers_of

    triggers = triggers_of(graph)  # @schedule / @trigger_on_finish, for build_definitions
    return dg.AssetsDefinition.from_graph(
        graph_def, keys_by_output_name=keys, descriptions_by_output_name=descriptions,
        internal_asset_deps=_lineage(graph, {**producers, END_OUTPUT: "end"}, keys),
        group_name=group_name, partitions_def=job.partitions_def,
        metadata_by_output_name={END_OUTPUT: triggers.metadata()} if triggers else None,
    )


def _lineage(graph: model.FlowGraph, producers: Mapping[str, str],
             keys: Mapping[str, dg.AssetKey]) -> dict[str, set[dg.AssetKey]]:
    """Each asset depends on the assets of the nearest producing steps upstream of its step
    (and on the other assets of its own step for the end asset), so the catalog shows
    features -> model -> summary rather than every ancestor."""
    by_step: dict[str, set[dg.AssetKey]] = {}
    for name, step in producers.items():
        if name != END_OUTPUT:
            by_step.setdefault(step, set()).add(keys[_output_name(name)])
    deps: dict[str, set[dg.AssetKey]] = {}
    for name, step in producers.items():
        found: set[dg.AssetKey] = set(by_step.get(step, ())) if name == END_OUTPUT else set()
        seen, todo = set(), list(graph[step].in_steps)
        while todo:
            parent = todo.pop()
            if parent in seen:
                continue
            seen.add(parent)
            if parent in by_step:
                found |= by_step[parent]
            else:
                todo.extend(graph[parent].in_steps)
        deps[END_OUTPUT if name == END_OUTPUT else _output_name(name)] = found
    return deps


def flow_asset_job_name(assets_def: dg.AssetsDefinition) -> str:
    """The flow's job name (``flow_to_job``'s), which its asset job takes too."""
    return assets_def.node_def.name.removesuffix(ASSET_GRAPH_SUFFIX)


def flow_asset_job(assets_def: dg.AssetsDefinition) -> Any:
    """The job that runs the flow behind ``assets_def`` (named and tagged like ``flow_to_job``),
    materializing all its artifact assets; None if ``assets_def`` is not a flow's."""
    if not assets_def.is_executable or not isinstance(assets_def.node_def, dg.GraphDefinition):
        return None
    graph_def = assets_def.node_def
    tags = dict(getattr(graph_def, "tags", None) or {})
    if FLOW_TAG not in tags:
        return None
    from ..compute.local_executor import flowassets_in_process_executor

    return dg.define_asset_job(name=flow_asset_job_name(assets_def), selection=dg.AssetSelection.assets(assets_def),
                               tags=tags, executor_def=flowassets_in_process_executor,
                               description=graph_def.description)


def flow_asset_triggers(assets_def: dg.AssetsDefinition) -> Any:
    """The @schedule / @trigger_on_finish of the flow behind ``assets_def`` (a ``FlowTriggers``),
    read from its ``end`` asset's definition metadata; None when it has neither."""
    from .triggers import FlowTriggers

    key = assets_def.keys_by_output_name.get(END_OUTPUT)
    if key is None:
        return None
    return FlowTriggers.from_metadata(assets_def.specs_by_key[key].metadata or {})


# -- which step makes which artifact --------------------------------------------------------
def artifact_producers(flow_cls: type, graph: model.FlowGraph,
                       artifacts: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """{artifact: step}, checked: every step exists and runs as one task."""
    flow = graph.flow_name
    single = [n.name for n in graph if not _runs_many_tasks(graph, n)]
    assigned = _assignments(flow_cls)
    params = {p.attr_name for p in graph.parameters}
    if isinstance(artifacts, str):
        raise AssetDefinitionError(f"flow {flow}: artifacts must be a list of names, not the "
                                   f"string {artifacts!r}; write artifacts=[{artifacts!r}].")
    if artifacts is None:
        names = [n for step in single for n in assigned.get(step, ()) if not n.startswith("_")]
        producers = {name: _last_producer(name, single, assigned) for name in dict.fromkeys(names)}
        if not producers:
            raise AssetDefinitionError(f"flow {flow}: no step outside a foreach assigns an "
                                       "artifact; name the ones to expose: artifacts=[...].")
        return producers
    wanted = dict(artifacts) if isinstance(artifacts, Mapping) else {n: None for n in artifacts}
    producers = {}
    for name, step in wanted.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise AssetDefinitionError(f"flow {flow}: {name!r} is not an artifact name.")
        if step is None:
            step = "start" if name in params else _last_producer(name, single, assigned)
        if step is None:
            many = [s for s, names in assigned.items() if name in names]
            raise AssetDefinitionError(
                f"flow {flow}, artifact {name!r}: " + (
                    f"set only in step(s) {many} that run as many tasks (foreach/@parallel); "
                    f"expose a joined value instead, e.g. self.{name}s = [i.{name} for i in inputs] "
                    "in the join step." if many else
                    "no step assigns it; pass {name: step} to name the step whose value to take."))
        if step not in graph.steps:
            raise AssetDefinitionError(f"flow {flow}, artifact {name!r}: there is no step {step!r}; "
                                       f"steps are {list(graph.order)}.")
        if _runs_many_tasks(graph, graph[step]):
            raise AssetDefinitionError(f"flow {flow}, step {step!r}, artifact {name!r}: the step "
                                       "runs as many tasks (inside a foreach/@parallel), so it has "
                                       "no single value; take it from the join step.")
        producers[name] = step
    return producers


def _runs_many_tasks(graph: model.FlowGraph, node: model.StepNode) -> bool:
    """Inside a foreach/@parallel body: every enclosing split still open at this step."""
    return any(graph[p].kind in _MANY_TASK_KINDS for p in node.split_parents)


def _last_producer(name: str, single: list[str], assigned: Mapping[str, set[str]]) -> str | None:
    makers = [s for s in single if name in assigned.get(s, ())]
    return makers[-1] if makers else None


def _assignments(flow_cls: type) -> dict[str, set[str]]:
    """Names each step body assigns as ``self.X = ...`` (or ``setattr(self, "X", ...)``)."""
    out: dict[str, set[str]] = {}
    for step, func in step_functions(flow_cls).items():
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(func))))
        except (OSError, TypeError, SyntaxError):
            continue
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "setattr" and len(node.args) > 1
                  and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                names.add(node.args[1].value)
        out[step] = names
    return out


# -- the op of a producing step, with one output per artifact ---------------------------------
def _output_name(artifact: str) -> str:
    return f"artifact__{artifact}"


def _with_asset_outputs(op_def: dg.OpDefinition, graph: model.FlowGraph, node: model.StepNode,
                        names: list[str], required: bool) -> dg.OpDefinition:
    """The step's op plus artifact outputs; the start op also tags the run with its flow, so a
    run started from the asset catalog (not the flow's job) is found by the client."""
    inner = op_def.compute_fn
    flow = graph.flow_name

    def compute(context, inputs: dict[str, Any]) -> Iterator[dg.Output]:  # noqa: ANN001
        if node.name == "start" and context.run.tags.get(FLOW_TAG) != flow:
            context.instance.add_run_tags(context.run_id, {FLOW_TAG: flow})
        outputs = list(inner(context, inputs))
        result = next((o.value for o in outputs if isinstance(o.value, StepResult)), None)
        extra = []
        if result is not None and names:
            # A loop's asset value is its last pass's (the one that left the loop).
            task = result.tasks[-1] if node.is_loop else result.tasks[0]
            for name in names:
                ref = task.artifacts.get(name)
                if ref is None:
                    if required:
                        raise dg.Failure(description=(
                            f"flow {flow}, step {node.name!r}: artifact {name!r} is exposed as an "
                            "asset but the step did not set it (task "
                            f"{task.task_id} has {sorted(task.artifacts)})."), allow_retries=False)
                    context.log.warning(f"artifact {name!r} not set by step {node.name!r}; its "
                                        "asset is not materialized by this run")
                    continue
                pointer = ArtifactPointer(flow, result.run_id, node.name, task.task_id, name, ref)
                extra.append(dg.Output(pointer, _output_name(name), metadata=pointer.metadata()))
        yield from outputs
        yield from extra

    outs = {d.name: dg.Out.from_definition(d) for d in op_def.output_defs}
    for name in names:
        outs[_output_name(name)] = dg.Out(dg.Any, is_required=required and node.kind != model.SWITCH,
                                          io_manager_key=ARTIFACT_IO_MANAGER_KEY)
    return dg.OpDefinition(
        compute_fn=compute, name=op_def.name,
        ins={d.name: dg.In.from_definition(d) for d in op_def.input_defs}, outs=outs,
        description=op_def.description, config_schema=op_def.config_schema,
        required_resource_keys=op_def.required_resource_keys, tags=op_def.tags,
        retry_policy=op_def.retry_policy, pool=op_def.pool,
    )

"""Run unchanged ``metaflow.FlowSpec`` classes on the flowassets runtime.

Metaflow's flow object already has the hooks we need (DESIGN.md, measured on metaflow 2.19):
``FlowSpec.__getattr__`` asks ``self._datastore`` for missing attributes, ``self.next()`` leaves
``self._transition``, joins take ``metaflow.datastore.inputs.Inputs``, and ``merge_artifacts``
reads ``inp._datastore.items()`` as (name, hash) pairs and calls ``passdown_partial``. So a
small datastore shim over our ``TaskState`` is all it takes; nothing of Metaflow's runtime runs.
Metaflow is imported only when a Metaflow flow is actually run.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..authoring.flowspec import Transition
from .state import TaskState

#: Attributes Metaflow keeps on the flow object that are not user artifacts.
METAFLOW_INTERNAL = frozenset({
    "name", "_datastore", "_transition", "_cached_input", "_current_step", "_foreach_stack",
    "_foreach_var", "_foreach_num_splits", "_foreach_values", "_unbounded_foreach",
    "_control_mapper_tasks", "_control_task_is_mapper_zero", "_parallel_ubf_iter",
    "_graph_info", "_flow_state", "_steps", "_success", "_task_ok", "_exception",
    "_condition", "_switch_value", "_flowassets_params",
})


def is_metaflow_class(cls: type) -> bool:
    return any(k.__module__ == "metaflow.flowspec" for k in cls.__mro__)


class DatastoreShim:
    """The slice of Metaflow's TaskDataStore that FlowSpec and merge_artifacts use."""

    def __init__(self, state: TaskState):
        self.state = state

    def __contains__(self, name: str) -> bool:
        return name in self.state.upstream or name in self.state.passdown

    def __getitem__(self, name: str) -> Any:
        return self.state.read(name)

    def items(self) -> Iterator[tuple[str, str]]:
        for name, ref in self.state.upstream.items():
            yield name, ref.sha

    def passdown_partial(self, other: "DatastoreShim", names: list[str]) -> None:
        for name in names:
            ref = other.state.upstream.get(name) or other.state.passdown.get(name)
            if ref is not None:
                self.state.passdown[name] = ref


def new_flow(cls: type, state: TaskState, param_names: frozenset[str]) -> Any:
    """A Metaflow flow object bound to ``state`` (parameters read from the manifest)."""
    from metaflow.tuple_util import ForeachFrame as MetaflowFrame

    _parameters_as_properties(cls, param_names)
    class_constants(cls)
    flow = cls(use_cli=False)
    flow._datastore = DatastoreShim(state)
    flow._flowassets_params = param_names
    flow._current_step = state.step_name
    flow._foreach_stack = [
        MetaflowFrame(step=f.step, var=f.var, num_splits=f.num_splits, index=f.index, value=None)
        for f in state.foreach_stack
    ]
    state.extra_internal = METAFLOW_INTERNAL
    # Metaflow's `input` reads getattr(self, frame.var)[index]; ours stored each item: use it.
    # A num_parallel frame has no variable: Metaflow's ParallelUBF gives the node index.
    flow._cached_input = {i: f.index if f.var is None else state.foreach_value(i)
                          for i, f in enumerate(state.foreach_stack)}
    return flow


def _parameters_as_properties(cls: type, param_names: frozenset[str]) -> None:
    """Metaflow makes Parameters read-only properties in the task process; so do we.

    Runs only in a forked task process, so the parent's class is never changed.
    """
    from metaflow.parameters import Parameter as MetaflowParameter

    for klass in cls.__mro__:
        for name, value in list(vars(klass).items()):
            if isinstance(value, MetaflowParameter) and name in param_names:
                if getattr(value, "IS_CONFIG_PARAMETER", False):
                    # A Config reads as Metaflow's immutable ConfigValue (its load_parameter).
                    setattr(cls, name, property(
                        lambda self, _n=name, _p=value: _p.load_parameter(self._datastore[_n])))
                else:
                    setattr(cls, name, property(lambda self, _n=name: self._datastore[_n]))


def class_constants(cls: type) -> dict[str, Any]:
    """Class-level values Metaflow treats as read-only constants: stored in every task like
    parameters, and not assignable (Metaflow's Task._init_parameters, same selection rule).

    The first call (in the forked task process) turns them into read-only properties; the
    values are kept on the class for the later calls."""
    import types

    cached = cls.__dict__.get("_flowassets_constants")
    if cached is not None:
        return cached
    found = {}
    for name in dir(cls):
        if name[0] == "_" or name in getattr(cls, "_NON_PARAMETERS", ()):
            continue
        value = getattr(cls, name)
        if isinstance(value, (types.MethodType, types.FunctionType, property, type)):
            continue
        found[name] = value

    def refuse(_self: Any, _value: Any) -> None:
        raise AttributeError("Flow level attributes and Parameters are not modifiable")

    for name, value in found.items():
        setattr(cls, name, property(lambda _self, _v=value: _v, refuse))
    cls._flowassets_constants = found
    return found


def parameter_value(cls: type, attr: str, value: Any) -> Any:
    """A run's parameter value as Metaflow stores it: a ``separator`` Parameter given as text
    is split into a list of strings."""
    for klass in cls.__mro__:
        param = vars(klass).get(attr)
        if param is not None and hasattr(param, "_override_kwargs"):
            separator = param.kwargs.get("separator") or param._override_kwargs.get("separator")
            if separator and isinstance(value, str):
                return value.split(separator)
            break
    return value


def make_inputs(flows: list[Any]) -> Any:
    from metaflow.datastore.inputs import Inputs

    return Inputs(flows)


def bind_current(flow: Any, run_id: str, step: str, task_id: str, retry_count: int,
                 origin_run_id: str | None, parallel: Any = None,
                 flow_decorators: tuple = (), tags: frozenset[str] = frozenset()) -> None:
    import os

    from metaflow import current
    from metaflow.util import get_username

    user = get_username()
    current._set_env(flow=flow, run_id=run_id, step_name=step, task_id=task_id,
                     retry_count=retry_count, origin_run_id=origin_run_id,
                     namespace=f"user:{user}" if user else None, username=user,
                     is_running=True, tags=set(tags),  # a set, as Metaflow's sticky_tags
                     metadata_str=METADATA_TYPE if select_metaflow_client() else None)
    current._update_env({"parameter_names": sorted(flow.__dict__.get("_flowassets_params", ()))})
    # Metaflow's `current.run` / `current.task` would open metaflow.Run/Task over Metaflow's
    # metadata service, which has no flowassets run: flowassets' client objects instead (the
    # runtime binds flowassets' `current` first).
    from ..authoring.current import current as ours

    current._update_env({"run": ours.run, "task": ours.task})
    bind_project(flow.name, flow_decorators, user)
    if parallel is not None:
        # Metaflow's @parallel reads these variables in `current.parallel` (parallel_decorator).
        os.environ.update({
            "MF_PARALLEL_MAIN_IP": parallel.main_ip, "MF_PARALLEL_NUM_NODES": str(parallel.num_nodes),
            "MF_PARALLEL_NODE_INDEX": str(parallel.node_index),
            "MF_PARALLEL_CONTROL_TASK_ID": parallel.control_task_id,
        })
        from metaflow.metaflow_current import Parallel

        current._update_env({"is_parallel": True, "parallel": Parallel(
            main_ip=parallel.main_ip, num_nodes=parallel.num_nodes,
            node_index=parallel.node_index, control_task_id=parallel.control_task_id)})


#: The metadata provider of the metaflow_extensions package shipped with flowassets.
METADATA_TYPE = "flowassets"


def select_metaflow_client() -> bool:
    """In a task: Metaflow's own client (``from metaflow import Flow, Task``) reads flowassets
    runs, as a Metaflow task's client reads the metadata of the run it belongs to.

    The variable serves a step that imports metaflow later; a metaflow already imported (an
    unchanged Metaflow file, or a step of a process that used it) is switched with Metaflow's
    public ``metadata()``. Answers whether the provider is installed (Metaflow found the
    extension), without importing metaflow when nothing did."""
    import os
    import sys

    os.environ["METAFLOW_DEFAULT_METADATA"] = METADATA_TYPE
    if "metaflow.plugins" not in sys.modules:
        return False
    from metaflow import metadata
    from metaflow.plugins import METADATA_PROVIDERS

    if not any(p.TYPE == METADATA_TYPE for p in METADATA_PROVIDERS):
        return False
    metadata(METADATA_TYPE)
    return True


def bind_project(flow_name: str, flow_decorators: tuple, user: str | None) -> None:
    """What Metaflow's @project puts in ``current`` (named by Metaflow's own format_name)."""
    import os

    from metaflow import current

    project = next((d for d in flow_decorators if d.name == "project"), None)
    if project is None:
        return
    from metaflow.plugins.project_decorator import format_name

    # --branch / --production are Metaflow's top-level options, also read from the
    # METAFLOW_BRANCH / METAFLOW_PRODUCTION variables (click's METAFLOW envvar prefix).
    args = project.args
    given = args.get("branch") or os.environ.get("METAFLOW_BRANCH") or None
    production = bool(args.get("production", False)) or os.environ.get(
        "METAFLOW_PRODUCTION", "").lower() in ("1", "true", "yes")
    project_flow_name, branch = format_name(flow_name, args.get("name"), production, given, user)
    current._update_env({"project_name": args.get("name"), "branch_name": branch,
                         "is_user_branch": given is None and not production,
                         "is_production": production, "project_flow_name": project_flow_name})


def parameter_context(cls: type, ours: Any, flow_decorators: tuple) -> Any:
    """Metaflow's own ParameterContext (configs as Metaflow's ConfigValue) for a callable
    default, with ``current``'s @project names set, as Metaflow's CLI has them when it calls
    the default."""
    from metaflow.parameters import ParameterContext
    from metaflow.user_configs.config_parameters import ConfigValue
    from metaflow.util import get_username

    bind_project(cls.__name__, flow_decorators, get_username())
    configs = None if ours.configs is None else ConfigValue(ours.configs.to_dict())
    return ParameterContext(flow_name=ours.flow_name, user_name=get_username(),
                            parameter_name=ours.parameter_name, logger=ours.logger,
                            ds_type=ours.ds_type, configs=configs)


def transition_of(flow: Any, node: Any) -> Transition | None:
    raw = getattr(flow, "__dict__", {}).get("_transition")
    if raw is None:
        return None
    targets = tuple(raw[0])
    foreach = raw[1] if len(raw) > 1 else None
    if foreach == "_parallel_ubf_iter":  # self.next(..., num_parallel=N)
        return Transition(targets, None, num_parallel=flow._parallel_ubf_iter.num_parallel)
    if node.kind == "split-switch":
        # Metaflow resolved the switch already: its transition names the chosen step.
        return Transition(targets, None, node.condition_var, {"__chosen__": targets[0]})
    return Transition(targets, foreach)



def caught_exception(exc: BaseException) -> Any:
    """What Metaflow's @catch stores: its own wrapper (``type`` module-qualified,
    ``exception`` the message, ``stacktrace``). Call inside the ``except`` block."""
    from metaflow.exception import MetaflowExceptionWrapper

    return MetaflowExceptionWrapper(exc)

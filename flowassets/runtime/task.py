"""Run one task of one step: build the flow object, call the body, record what it made.

This runs inside the task's own (forked) process, so anything the body does to the process
(environment variables, signals, a crash) stays with the task.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..authoring.current import ParallelInfo, current
from ..authoring.flowspec import Inputs
from ..authoring.user_decorators import step_wrappers
from ..cards import render as cards
from ..compute.kubernetes import (
    MAIN_IP_ENV, NODE_IP_ENV, NODE_NAME_ENV, POD_IP_ENV, POD_NAME_ENV, POD_NAMESPACE_ENV,
)
from ..compute.spec import retry_times, timeout_seconds
from ..errors import FlowassetsError, ForeachError, StepFailure, TaskTimeout
from ..graph import model
from ..storage.artifacts import ArtifactStore
from ..storage.manifest import ArtifactRef, ForeachFrame, TaskRecord
from . import flow_extensions, metaflow_adapter, secrets, step_extensions
from .step_wrappers import StepCall, run_wrapped, wrappers_for_task
from .state import TaskState, foreach_item
from .task_ids import control_task_id


@dataclass(frozen=True)
class TaskSpec:
    """One task to run: which step, where in the foreach nesting, and what it reads."""

    step: str
    task_id: str
    foreach_stack: tuple[ForeachFrame, ...]
    inputs: tuple[TaskRecord, ...]  # one upstream task, or every input of a join
    attempt: int = 0
    is_last_attempt: bool = True
    iteration: int | None = None  # the pass of a loop (recursive switch), from 0


@dataclass(frozen=True)
class RunContext:
    """What every task of a run shares."""

    flow_cls: type
    graph: model.FlowGraph
    store: ArtifactStore
    run_id: str
    parameters: Mapping[str, Any] = field(default_factory=dict)  # attr name -> value (start)
    max_num_splits: int = 100
    origin_run_id: str | None = None
    tags: frozenset[str] = frozenset()  # the run's user tags (--tag), Metaflow's current.tags


@dataclass(frozen=True)
class CaughtException:
    """What @catch stores: enough to inspect the failure without the original classes."""

    type: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


def run_task(spec: TaskSpec, ctx: RunContext) -> TaskRecord:
    node = ctx.graph[spec.step]
    flow_name = ctx.graph.flow_name
    param_names = ctx.graph.run_input_names()
    base = _base_namespace(spec, ctx, param_names)
    state = TaskState(flow_name=flow_name, step_name=spec.step, store=ctx.store,
                      upstream=base if not node.is_join else base, foreach_stack=spec.foreach_stack,
                      parameter_names=param_names, is_join=node.is_join)
    parallel = _parallel_info(ctx.graph, node, spec)
    current._bind(flow_name=flow_name, run_id=ctx.run_id, step_name=spec.step,
                  task_id=spec.task_id, retry_count=spec.attempt, origin_run_id=ctx.origin_run_id,
                  parallel=parallel, pod=pod_placement(), tags=ctx.tags, _store=ctx.store)
    if metaflow_adapter.is_metaflow_class(ctx.flow_cls):
        flow = metaflow_adapter.new_flow(ctx.flow_cls, state, param_names)
        metaflow_adapter.bind_current(flow, ctx.run_id, spec.step, spec.task_id, spec.attempt,
                                      ctx.origin_run_id, parallel, ctx.graph.flow_decorators,
                                      tags=ctx.tags)
        flow_extensions.init_flow_decorators(flow, ctx.graph.flow_decorators)
    else:
        flow = object.__new__(ctx.flow_cls)
        flow.__dict__["_flowassets_state"] = state
        metaflow_adapter.select_metaflow_client()
    env = node.decorator("environment")
    if env is not None:
        os.environ.update({k: str(v) for k, v in env.resolved()["vars"].items()})
    secret_spec = node.decorator("secrets")
    if secret_spec is not None:
        secrets.apply(secrets.load(secret_spec.resolved()["sources"] or [],
                                   f"flow {flow_name}, step {spec.step!r}"))
    # After @environment: a card setting may come from it (METAFLOW_CARD_NO_WARNING).
    card_session = cards.start(node.decorators, metaflow_adapter.is_metaflow_class(ctx.flow_cls))
    current.card = card_session.collector if card_session else None
    try:
        record = _run_body(spec, ctx, node, flow, state, base)
        if card_session is not None:  # drawn once the task succeeded, as Metaflow does
            task = cards.CardTask(ctx.store, flow_name, ctx.run_id, record, param_names, ctx.tags)
            record = dataclasses.replace(record, cards=cards.finish(card_session, task, flow))
        return record
    except BaseException as exc:  # noqa: BLE001
        if secret_spec is None or isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        # The message or traceback may quote a secret value: hand on a masked copy only.
        raise StepFailure(secrets.scrub_text(traceback.format_exc()).rstrip()) from None
    finally:
        if secret_spec is not None:
            secrets.scrub_output_file()


def run_and_keep(spec: TaskSpec, ctx: RunContext) -> TaskRecord:
    """Run a task and keep its record in the store as soon as it finishes (in the task's own
    process or pod), so a resume after a crash of the step, or of the driver, can reuse it."""
    record = run_task(spec, ctx)
    ctx.store.save_task(ctx.run_id, record)
    return record


def _run_body(spec: TaskSpec, ctx: RunContext, node: model.StepNode, flow: Any,
              state: TaskState, base: dict[str, ArtifactRef]) -> TaskRecord:
    started = time.time()
    flow_name = ctx.graph.flow_name
    param_names = ctx.graph.run_input_names()
    is_metaflow = metaflow_adapter.is_metaflow_class(ctx.flow_cls)
    catch = node.decorator("catch")
    caught: CaughtException | None = None
    limit = timeout_seconds(node.decorators)
    try:
        with _alarm(limit, flow_name, spec.step):
            _call_step(spec, ctx, node, flow, state, param_names)
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything
        if isinstance(exc, (KeyboardInterrupt, SystemExit)) and not isinstance(exc, TaskTimeout):
            raise
        if catch is None or not spec.is_last_attempt:
            raise
        caught = CaughtException(type(exc).__name__, secrets.scrub_text(str(exc)),
                                 secrets.scrub_text(traceback.format_exc()))
        options = catch.resolved()
        if options["print_exception"]:
            print(f"@catch caught an exception in step {spec.step!r}:\n{caught.traceback}", flush=True)
        if options["var"]:
            flow.__dict__[options["var"]] = (metaflow_adapter.caught_exception(exc)
                                             if is_metaflow else caught)
    else:
        if catch is not None and catch.resolved()["var"]:
            # Metaflow's CatchDecorator.task_post_step: no exception sets the variable to None.
            flow.__dict__[catch.resolved()["var"]] = None
    if is_metaflow:
        state.transition = metaflow_adapter.transition_of(flow, node)
    next_steps, children = _transition(flow, node, ctx, state, caught is not None)
    artifacts = state.collect(flow, base)
    if is_metaflow:  # Metaflow stores class constants in every task, as parameters
        for name, value in metaflow_adapter.class_constants(ctx.flow_cls).items():
            artifacts.setdefault(name, ctx.store.save(value))
    return TaskRecord(
        step=spec.step, task_id=spec.task_id, foreach_stack=spec.foreach_stack,
        artifacts=artifacts, next_steps=next_steps, children=children,
        input_tasks=tuple(f"{r.step}/{r.task_id}" for r in spec.inputs), attempt=spec.attempt,
        started_at=started, finished_at=time.time(),
        caught_exception=str(caught) if caught else None, pod=pod_placement(),
        iteration=spec.iteration,
    )


def _call_step(spec: TaskSpec, ctx: RunContext, node: model.StepNode, flow: Any,
               state: TaskState, param_names: frozenset[str]) -> None:
    """Call the step body, inside the step's custom decorators when it has any."""
    is_metaflow = metaflow_adapter.is_metaflow_class(ctx.flow_cls)
    body = getattr(flow, spec.step)
    inputs = None
    parents: list[Any] | None = None  # the input tasks as flow objects, once built
    if node.is_join:
        parents = [_input_flow(ctx, rec, param_names) for rec in spec.inputs]
        inputs = metaflow_adapter.make_inputs(parents) if is_metaflow else Inputs(parents)

    def call_body() -> None:
        if inputs is None:
            body()
        else:
            body(inputs)

    def clear_transition() -> None:
        if is_metaflow:
            flow._transition = None
        state.transition = None

    wrappers = step_wrappers(getattr(body, "__func__", body))

    def call_wrapped() -> None:
        if not wrappers:
            call_body()
            return
        call = StepCall(spec.step, flow, call_body, inputs, clear_transition)
        run_wrapped(call, node, wrappers_for_task(wrappers))

    extensions = (step_extensions.extension_decorators(flow, spec.step, node.decorators)
                  if is_metaflow else [])
    if not extensions:
        call_wrapped()
        return
    # Metaflow hands task_pre_step its parent tasks' datastores (start: the parameters task);
    # here the parents as flow objects reading their artifacts (start: the flow itself).
    if parents is None:
        parents = [_input_flow(ctx, rec, param_names) for rec in spec.inputs]
    step_extensions.run_with_hooks(extensions, flow, spec.step, ctx.run_id, spec.task_id,
                                   spec.attempt, retry_times(node.decorators), parents or [flow],
                                   inputs, call_wrapped)


def pod_placement() -> dict[str, str] | None:
    """The pod this task runs in, from the downward-API variables every pod flowassets makes
    gets (``compute.kubernetes.POD_ENV``), as Metaflow records pod name, namespace and node."""
    fields = {"pod": POD_NAME_ENV, "namespace": POD_NAMESPACE_ENV, "node": NODE_NAME_ENV,
              "node_ip": NODE_IP_ENV}
    found = {key: os.environ[var] for key, var in fields.items() if os.environ.get(var)}
    return found if "pod" in found else None


def _parallel_info(graph: model.FlowGraph, node: model.StepNode, spec: TaskSpec) -> ParallelInfo | None:
    if not spec.foreach_stack or not any(graph[p].kind == model.PARALLEL_SPLIT for p in node.in_steps):
        return None
    frame = spec.foreach_stack[-1]
    control = control_task_id(graph, spec.step, spec.foreach_stack)
    # On Kubernetes node 0 listens on its own pod IP and the other nodes' pods are told it
    # (runtime/pod_tasks.py); locally every node is on 127.0.0.1.
    main_ip = os.environ.get(MAIN_IP_ENV) or (os.environ.get(POD_IP_ENV) if frame.index == 0 else None)
    return ParallelInfo(main_ip or "127.0.0.1", frame.num_splits, frame.index, control)


def _base_namespace(spec: TaskSpec, ctx: RunContext, param_names: frozenset[str]) -> dict[str, ArtifactRef]:
    if spec.step == "start" and not spec.inputs:
        if metaflow_adapter.is_metaflow_class(ctx.flow_cls):
            return {name: ctx.store.save(metaflow_adapter.parameter_value(ctx.flow_cls, name, value))
                    for name, value in ctx.parameters.items()}
        return {name: ctx.store.save(value) for name, value in ctx.parameters.items()}
    if ctx.graph[spec.step].is_join:
        # Only parameters cross a join unmerged (as in Metaflow).
        first = spec.inputs[0].artifacts
        return {name: ref for name, ref in first.items() if name in param_names}
    return dict(spec.inputs[0].artifacts)


def _input_flow(ctx: RunContext, record: TaskRecord, param_names: frozenset[str]) -> Any:
    state = TaskState(
        flow_name=ctx.graph.flow_name, step_name=record.step, store=ctx.store,
        upstream=record.artifacts, foreach_stack=record.foreach_stack, parameter_names=param_names)
    if metaflow_adapter.is_metaflow_class(ctx.flow_cls):
        return metaflow_adapter.new_flow(ctx.flow_cls, state, param_names)
    flow = object.__new__(ctx.flow_cls)
    flow.__dict__["_flowassets_state"] = state
    return flow


def _transition(flow: Any, node: model.StepNode, ctx: RunContext, state: TaskState,
                caught: bool) -> tuple[tuple[str, ...], tuple[ForeachFrame, ...]]:
    where = f"flow {ctx.graph.flow_name}, step {node.name!r}"
    transition = state.transition
    if node.kind == model.END:
        if transition is not None:
            raise StepFailure(f"{where}: the end step called self.next().")
        return (), ()
    if transition is None:
        if caught and node.kind not in (model.SWITCH, model.FOREACH, model.PARALLEL_SPLIT):
            return node.out, ()
        raise StepFailure(f"{where}: the step finished without calling self.next().")
    if node.kind == model.SWITCH and transition.cases and "__chosen__" in transition.cases:
        return (transition.cases["__chosen__"],), ()  # Metaflow's next() already chose
    if node.kind == model.SWITCH:
        value = getattr(flow, node.condition_var)
        cases = transition.cases or {}
        if value not in cases:
            raise StepFailure(
                f"{where}: switch condition {node.condition_var!r} has value {value!r}, which is "
                f"not one of the cases {list(cases)}."
            )
        return (cases[value],), ()
    if set(transition.targets) != set(node.out):
        raise StepFailure(f"{where}: self.next() went to {list(transition.targets)} at run time, "
                          f"but the step's source says {list(node.out)}.")
    if node.kind == model.FOREACH:
        return node.out, _foreach_frames(flow, node, ctx, where)
    if node.kind == model.PARALLEL_SPLIT:
        count = transition.num_parallel
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise StepFailure(f"{where}: num_parallel must be a positive integer, got {count!r}.")
        return node.out, tuple(ForeachFrame(node.name, None, i, count) for i in range(count))
    return node.out, ()


def _foreach_frames(flow: Any, node: model.StepNode, ctx: RunContext,
                    where: str) -> tuple[ForeachFrame, ...]:
    var = node.foreach_var
    try:
        values = getattr(flow, var)
    except AttributeError:
        raise ForeachError(f"{where}: foreach variable self.{var} does not exist; assign it "
                           "before self.next().") from None
    try:
        count = sum(1 for _ in values)
        # Metaflow's self.input is values[index] (falling back to iteration without __getitem__).
        items = [foreach_item(values, i) for i in range(count)]
    except TypeError as exc:
        raise ForeachError(f"{where}: foreach variable self.{var} is not iterable ({exc}).") from None
    except (KeyError, IndexError) as exc:
        raise ForeachError(
            f"{where}: foreach over self.{var} ({type(values).__name__}): self.input is "
            f"self.{var}[index] as in Metaflow, and index {exc} is not a key. Iterate over a "
            f"list, e.g. list(self.{var}.items()).") from None
    if not items:
        raise ForeachError(f"{where}: foreach over self.{var} produced zero splits.")
    if len(items) > ctx.max_num_splits:
        raise ForeachError(
            f"{where}: foreach over self.{var} has {len(items)} splits, more than "
            f"--max-num-splits={ctx.max_num_splits}. No task of the foreach was started; raise "
            "the limit if this is intended."
        )
    frames = []
    for index, item in enumerate(items):
        ref = ctx.store.save(item)
        frames.append(ForeachFrame(node.name, var, index, len(items), ref.sha, ref.encoding,
                                   ref.size, _short_repr(item)))
    return tuple(frames)


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


class _alarm:
    """Raise TaskTimeout in the body after ``seconds`` (SIGALRM), as Metaflow's @timeout does."""

    def __init__(self, seconds: int | None, flow: str, step: str):
        self.seconds, self.flow, self.step = seconds, flow, step

    def _fire(self, signum: int, frame: Any) -> None:
        raise TaskTimeout(f"flow {self.flow}, step {self.step!r}: @timeout of {self.seconds} s "
                          "exceeded; the step was interrupted.")

    def __enter__(self) -> "_alarm":
        if self.seconds:
            signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)


__all__ = ["TaskSpec", "RunContext", "run_task", "CaughtException", "FlowassetsError"]

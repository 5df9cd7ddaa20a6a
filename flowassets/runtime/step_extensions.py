"""Step decorators from Metaflow extension packages, run in each task as Metaflow's task runs them.

An organisation's Metaflow extension package may add step decorators (``STEP_DECORATORS_DESC``)
whose work happens in the task: set an artifact after the body, wrap the body, handle an
exception. Metaflow's ``MetaflowTask.run_step`` calls, for every decorator of the step in
order, ``task_pre_step``, then ``task_decorate`` (which may wrap or replace the body), the
body, ``task_post_step`` (or ``task_exception`` on failure: a True answer means handled),
and finally ``task_finished``. flowassets calls the same hooks in the same order around the
step body, after ``init`` and ``step_init`` (which Metaflow's CLI calls in every process).
Build refuses a decorator overriding any other hook (``graph/decorator_checks``). One
difference: Metaflow calls ``task_finished`` after it stored the artifacts, flowassets before,
so an artifact set there (which Metaflow's docs forbid) is kept here and lost under Metaflow. Metaflow's
task datastore, metadata provider, environment and flow datastore do not exist in a flowassets
task, so those arguments are None. Reached only for a Metaflow flow: metaflow is never
imported here.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..authoring.decorators import DecoratorSpec
from .flow_extensions import metaflow_logger


def extension_decorators(flow: Any, step: str, specs: Iterable[DecoratorSpec]) -> list[Any]:
    """The step's decorator objects that come from extension packages, in Metaflow's order."""
    names = {s.name for s in specs if s.extension}
    if not names:
        return []
    return [d for d in _all_decorators(flow, step) if d.name in names]


def _all_decorators(flow: Any, step: str) -> list[Any]:
    return list(getattr(getattr(type(flow), step), "decorators", ()))


def run_with_hooks(decorators: list[Any], flow: Any, step: str, run_id: str, task_id: str,
                   retry_count: int, max_retries: int, parents: list[Any], inputs: Any,
                   call: Callable[[], None]) -> bool:
    """``call`` (the step body, with the step's other wrappers) inside the extension hooks, in
    Metaflow's order. ``parents``: what ``task_pre_step`` gets as its inputs; ``inputs``: the
    join's argument, None for other steps. True when the body raised and a
    ``task_exception`` handled it: the task then goes on as a success, as under Metaflow."""
    graph = flow._graph
    everyone = _all_decorators(flow, step)  # step_init sees all the step's decorators
    for deco in decorators:
        deco.external_init()
        deco.step_init(flow, graph, step, everyone, None, None, metaflow_logger)
    task_ok = False
    try:
        for deco in decorators:
            deco.task_pre_step(step, None, None, run_id, task_id, flow, graph, retry_count,
                               max_retries, None, parents)
        step_func: Callable[..., Any] = lambda *args: call()  # noqa: E731 - Metaflow's shape
        for deco in decorators:
            step_func = deco.task_decorate(step_func, flow, graph, retry_count, max_retries, None)
        if inputs is None:
            step_func()
        else:
            step_func(inputs)
        for deco in decorators:
            deco.task_post_step(step, flow, graph, retry_count, max_retries)
        task_ok = True
        return False
    except Exception as exc:  # as Metaflow: only Exception reaches task_exception
        handled = False
        for deco in decorators:
            handled = bool(deco.task_exception(exc, step, flow, graph, retry_count,
                                               max_retries)) or handled
        if not handled:
            raise
        task_ok = True
        return True
    finally:
        for deco in decorators:
            deco.task_finished(step, flow, graph, task_ok, retry_count, max_retries)


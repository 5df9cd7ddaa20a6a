"""Run a step body inside its custom step decorators (``@user_step_decorator``,
``UserStepDecorator``), exactly as Metaflow's ``Task._exec_step_function`` does (metaflow 2.19).

The same code serves Metaflow's wrapper objects (unchanged ``from metaflow import ...`` files)
and flowassets' own (``authoring.user_decorators``): both offer ``pre_step``, ``post_step``
and ``skip_step`` with the same meaning. Order, for wrappers w1 (closest to ``@step``), w2, w3:
w3.pre, w2.pre, w1.pre, body, w1.post, w2.post, w3.post. A ``pre_step`` that returns a
function replaces everything inside it; one that sets ``skip_step`` runs nothing inside it,
and ``self.next()`` is called for the step (with the step's own targets, or the arguments
given). ``post_step`` may swallow the body's exception (the step then succeeds and moves on
along its usual transition), replace it, or pass ``self.next()`` arguments.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import StepFailure
from ..graph import model


@dataclass(frozen=True)
class StepCall:
    """What the wrappers wrap: the step, its flow object and how to call the body."""

    step_name: str
    flow: Any
    body: Callable[[], None]  # the step function with its arguments bound (inputs for a join)
    inputs: Any = None  # a join step's inputs (passed to pre_step and to a replacement)
    clear_transition: Callable[[], None] = lambda: None  # forget a self.next() already made


def wrappers_for_task(wrappers: Sequence[Any]) -> list[Any]:
    """Each task gets its own copies: a generator wrapper keeps its running generator on the
    object, as Metaflow's does in its one-task process."""
    fresh = []
    for wrapper in wrappers:
        init = getattr(wrapper, "external_init", None)
        if init is not None:
            init()  # once per object (Metaflow's _ran_init guard): calls the user's init()
        fresh.append(copy.copy(wrapper))
    return fresh


def run_wrapped(call: StepCall, node: model.StepNode, wrappers: Sequence[Any]) -> None:
    """Run ``call.body`` inside ``wrappers`` (innermost first, as stored on the step)."""
    stack: list[Any] = []
    replacement = None
    fake_next: Any = None  # truthy: call self.next() for the step (a dict: with these arguments)
    raised: BaseException | None = None
    had_raised = False
    for wrapper in reversed(wrappers):
        replacement = wrapper.pre_step(call.step_name, call.flow, call.inputs)
        stack.append(wrapper)
        if wrapper.skip_step:
            fake_next = wrapper.skip_step
            break
        if replacement:
            break
    try:
        if not fake_next:
            if replacement:
                args = (call.flow,) if call.inputs is None else (call.flow, call.inputs)
                fake_next = replacement(*args) or None
            else:
                call.body()
    except Exception as exc:  # noqa: BLE001 - Metaflow hands any Exception to post_step
        raised, had_raised = exc, True
    for wrapper in reversed(stack):
        try:
            result = wrapper.post_step(call.step_name, call.flow, raised)
        except Exception as exc:  # noqa: BLE001
            result = exc
        if result is None:
            raised = None
        elif isinstance(result, Exception):
            raised = result
        elif isinstance(result, tuple) and len(result) == 2:
            raised, fake_next = result
        elif isinstance(result, tuple):
            raise result[2]  # a generator decorator that yielded twice
        else:
            raise StepFailure(f"step {call.step_name!r}: {wrapper} returned {result!r} from "
                              "post_step; return None, an exception, or (exception, next "
                              "arguments).")
    if raised is not None:
        raise raised
    if (fake_next is not None and fake_next is not False) or had_raised:
        _fake_next_call(call, node, fake_next, had_raised)


def _fake_next_call(call: StepCall, node: model.StepNode, args: Any, had_raised: bool) -> None:
    """Call ``self.next()`` for a step that was skipped, replaced, or whose exception a
    wrapper swallowed (Metaflow does the same, so the run moves on along the step's edges)."""
    if not node.out:
        return
    targets = [getattr(call.flow, name) for name in node.out]
    call.clear_transition()
    if isinstance(args, dict) and args:
        call.flow.next(*targets, **args)
    elif args is True or args == {} or had_raised:
        if node.kind == model.PARALLEL_SPLIT:
            raise StepFailure(f"step {call.step_name!r}: skipping a num_parallel step without "
                              "giving the arguments of its self.next() call is not supported "
                              "(as in Metaflow); set skip_step to {'num_parallel': N}.")
        if node.foreach_var:
            call.flow.next(*targets, foreach=node.foreach_var)
        else:
            call.flow.next(*targets)
    else:
        raise StepFailure(f"step {call.step_name!r}: invalid value for the self.next() call of "
                          f"a custom decorator; expected True or a dict, got {args!r}.")

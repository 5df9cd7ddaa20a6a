"""Custom step decorators, as Metaflow 2.16+ has them: ``@user_step_decorator`` generators and
``UserStepDecorator`` classes.

A custom decorator wraps the step body at run time (``runtime.step_wrappers`` runs the
wrappers exactly as Metaflow's task does): it can act before and after the body, replace it,
skip it, swallow or raise its exception, and set artifacts on ``flow``. Here the decorator is
only recorded on the step function (``_flowassets_wrappers``, innermost first, as Metaflow's
``step.wrappers``); nothing runs when the flow file is imported.

Unlike Metaflow's, a decorator applied bare (``@timing``) returns the step function itself, so
the class body holds plain functions and the graph reads it as any other flow.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any, Callable

from ..errors import FlowassetsError

WRAPPERS_ATTR = "_flowassets_wrappers"
MUTATORS_ATTR = "_flowassets_step_mutators"

#: Yield this from a generator decorator to skip the step (Metaflow's name; equal to {}).
USER_SKIP_STEP: dict[str, Any] = {}


def _is_step(value: Any) -> bool:
    return callable(value) and getattr(value, "is_step", False)


class _StepDecoratorMeta(type):
    """``@MyDecorator`` (bare) attaches a fresh instance to the step and returns the step."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and _is_step(args[0]):
            return type.__call__(cls)(args[0])
        return type.__call__(cls, *args, **kwargs)

    def __str__(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"


class StepDecoratorBase(metaclass=_StepDecoratorMeta):
    """What custom step decorators and step mutators share: arguments kept until ``init`` runs
    (when the job is built), and attachment to a step function under ``_step_field``."""

    _step_field = WRAPPERS_ATTR
    _allows_positional = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and not self._allows_positional:
            raise FlowassetsError(f"{type(self)} takes keyword arguments only, got {args!r}; "
                                  "write @Decorator(name=value).")
        self._args, self._kwargs = list(args), dict(kwargs)
        self._ran_init = False
        self.inserted_by: str | None = None

    @property
    def decorator_name(self) -> str:
        return str(type(self))

    def __call__(self, step: Callable[..., Any]) -> Callable[..., Any]:
        if not _is_step(step):
            raise FlowassetsError(f"{type(self)} decorates steps: put it above @step, got {step!r}.")
        setattr(step, self._step_field, [*getattr(step, self._step_field, ()), self])
        return step

    def get_args_kwargs(self) -> tuple[list[Any], dict[str, Any]]:
        return list(self._args), dict(self._kwargs)

    def external_init(self) -> None:
        """Call the user's ``init`` with the decorator's arguments, once (Metaflow's name)."""
        if self._ran_init:
            return
        overridden = type(self).init is not StepDecoratorBase.init
        if (self._args or self._kwargs) and not overridden:
            raise FlowassetsError(f"{type(self)} is given arguments but does not define init().")
        if overridden:
            self.init(*self._args, **self._kwargs)
        self._ran_init = True

    def init(self, *args: Any, **kwargs: Any) -> None:
        """Override to take arguments (``@MyDecorator(limit=3)``); replaces ``__init__``."""

    def __str__(self) -> str:
        return str(type(self))


class UserStepDecorator(StepDecoratorBase):
    """Subclass and override ``pre_step`` / ``post_step`` (and ``init`` for arguments)."""

    def pre_step(self, step_name: str, flow: Any, inputs: Any = None) -> Callable[..., Any] | None:
        """Before the body. Return a function to run instead of what this decorator wraps
        (``fn(flow)`` or ``fn(flow, inputs)`` for a join; returning True from it calls the
        step's usual ``self.next()``, a dict calls it with these arguments), or set
        ``self.skip_step`` to skip it."""
        return None

    def post_step(self, step_name: str, flow: Any, exception: Exception | None = None) -> Any:
        """After the body, before its artifacts are stored. Return None (success: an exception
        is swallowed), an exception (raised), or (exception, arguments for self.next())."""
        if exception:
            return exception, None
        return None, None

    @property
    def skip_step(self) -> bool | dict[str, Any]:
        return getattr(self, "_skip_step", False)

    @skip_step.setter
    def skip_step(self, value: bool | dict[str, Any]) -> None:
        self._skip_step = value


class _GeneratorDecorator(UserStepDecorator):
    """A ``@user_step_decorator`` generator as a UserStepDecorator (Metaflow's WrapClass)."""

    _generator_function: Callable[..., Any]
    _takes_attributes: bool

    def init(self, **kwargs: Any) -> None:
        self._kwargs = kwargs

    def pre_step(self, step_name: str, flow: Any, inputs: Any = None) -> Callable[..., Any] | None:
        args = (step_name, flow, inputs) + ((self._kwargs,) if self._takes_attributes else ())
        self._generator = type(self)._generator_function(*args)
        yielded = self._generator.send(None)
        if isinstance(yielded, dict):
            self.skip_step = yielded or True
            return None
        return yielded

    def post_step(self, step_name: str, flow: Any, exception: Exception | None = None) -> Any:
        try:
            if exception:
                self._generator.throw(exception)
            else:
                self._generator.send(None)
        except StopIteration as stop:
            return stop.value
        except Exception as exc:  # noqa: BLE001 - the generator re-raised or raised anew
            return exc
        return None, None, FlowassetsError(f"{type(self)} should yield only once.")


def user_step_decorator(func: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """Make a generator function ``fn(step_name, flow, inputs[, attributes])`` a step decorator.

    Code before ``yield`` runs before the body, code after it runs after (an exception of the
    body is raised at the ``yield``). Yield a function to replace the body, a dict to skip it
    (``{}`` or ``USER_SKIP_STEP``; a non-empty dict gives the ``self.next()`` arguments).
    ``attributes`` are the keyword arguments the decorator is applied with:
    ``@timing(unit="ms")``.
    """
    if func is None:
        return lambda f: user_step_decorator(f, **kwargs)
    if not inspect.isgeneratorfunction(func):
        raise FlowassetsError(f"@user_step_decorator decorates generator functions (with a "
                              f"yield); {func.__qualname__} is not one.")
    count = len(inspect.signature(func).parameters)
    if count not in (3, 4) or (kwargs and count != 4):
        raise FlowassetsError(f"@user_step_decorator {func.__qualname__} must take (step_name, "
                              "flow, inputs) or (step_name, flow, inputs, attributes).")
    return type(func.__name__, (_GeneratorDecorator,), {
        "_generator_function": staticmethod(func), "_takes_attributes": count == 4,
        "__module__": func.__module__, "__qualname__": func.__qualname__,
        "__doc__": func.__doc__})


def step_function_of(value: Any) -> Any:
    """The step function under a Metaflow custom decorator applied bare (``@timing``), which
    leaves the decorator object in the class body (``_my_step`` is Metaflow's name); anything
    else unchanged."""
    if getattr(value, "is_step", False):
        return value
    inner = getattr(value, "_my_step", None)
    return inner if getattr(inner, "is_step", False) else value


def step_wrappers(func: Any) -> list[Any]:
    """A step's custom decorators, innermost first: flowassets' own, or Metaflow's
    ``step.wrappers`` for an unchanged Metaflow file."""
    ours = getattr(func, WRAPPERS_ATTR, None)
    if ours is not None:
        return list(ours)
    return list(getattr(func, "wrappers", None) or ())


def parse_decospec(text: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key2=value2"`` (Metaflow's decorator spec string) as name and
    arguments; values are JSON where they parse, else numbers or text."""
    name, _, rest = text.partition(":")
    args: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in re.split(r",(?=[\s\w]+=)", rest))):
        key, _, value = item.partition("=")
        try:
            args[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            args[key.strip()] = value.strip()
    return name.strip(), args

"""Step and flow mutators, as Metaflow 2.16+ has them: code that adds or removes decorators
(and, for a flow, Parameters) before the job is built.

``@MyStepMutator`` on a step and ``@MyFlowMutator`` on a flow class are only recorded when the
file is imported. ``apply_mutators`` runs them once per class, in Metaflow's order (every
``pre_mutate``, flow mutators first, then every ``mutate``), when the graph is built; what
they add is then read by the graph like decorators written by hand, so an ``@retry`` or
``@kubernetes`` a mutator adds reaches the job. Anything a mutator does that fails is reported
with the flow, the step and the mutator, before anything runs.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..errors import DecoratorError, FlowassetsError, Problem
from .decorators import FLOW_DECORATORS_ATTR, MULTIPLE_ALLOWED, STEP_DECORATORS_ATTR, DecoratorSpec
from .user_decorators import (
    MUTATORS_ATTR, WRAPPERS_ATTR, StepDecoratorBase, parse_decospec, step_function_of,
    step_wrappers,
)

FLOW_MUTATORS_ATTR = "_flowassets_flow_mutators"
_APPLIED_ATTR = "_flowassets_mutators_applied"


class StepMutator(StepDecoratorBase):
    """Subclass and override ``mutate`` (and ``pre_mutate``, ``init`` for arguments)."""

    _step_field = MUTATORS_ATTR
    _allows_positional = True

    def pre_mutate(self, mutable_step: "MutableStep") -> None:
        """Runs first; the only phase that may add or remove step mutators."""

    def mutate(self, mutable_step: "MutableStep") -> None:
        """Runs after every pre_mutate; add or remove decorators here."""


class _FlowMutatorMeta(type):
    """``@MyFlowMutator`` (bare) attaches a fresh instance to the class and returns the class."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and isinstance(args[0], type):
            return type.__call__(cls)(args[0])
        return type.__call__(cls, *args, **kwargs)


class FlowMutator(metaclass=_FlowMutatorMeta):
    """Subclass and override ``mutate`` / ``pre_mutate`` (and ``init`` for arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args, self._kwargs, self._ran_init = list(args), dict(kwargs), False

    def __call__(self, flow_cls: type) -> type:
        setattr(flow_cls, FLOW_MUTATORS_ATTR, (*flow_cls.__dict__.get(FLOW_MUTATORS_ATTR, ()), self))
        return flow_cls

    def external_init(self) -> None:
        if not self._ran_init:
            if type(self).init is not FlowMutator.init:
                self.init(*self._args, **self._kwargs)
            elif self._args or self._kwargs:
                raise FlowassetsError(f"{self} is given arguments but does not define init().")
            self._ran_init = True

    def init(self, *args: Any, **kwargs: Any) -> None:
        """Override to take arguments (``@MyFlowMutator("x")``)."""

    def pre_mutate(self, mutable_flow: "MutableFlow") -> None:
        """Runs first: may add or remove Parameters, flow decorators and step mutators."""

    def mutate(self, mutable_flow: "MutableFlow") -> None:
        """Runs after every pre_mutate: may change the steps' decorators."""

    def __str__(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"


class MutableStep:
    """One step as a mutator sees it (Metaflow's MutableStep)."""

    IGNORE, ERROR, OVERRIDE = 1, 2, 3

    def __init__(self, flow_cls: type, func: Any, pre_mutate: bool, inserted_by: str):
        self._flow_cls, self._func, self._pre_mutate = flow_cls, func, pre_mutate
        self._inserted_by = inserted_by

    @property
    def flow(self) -> "MutableFlow":
        return MutableFlow(self._flow_cls, self._pre_mutate, self._inserted_by)

    @property
    def decorator_specs(self) -> Iterator[tuple[str, str, list[Any], dict[str, Any]]]:
        """(name, qualified name, args, kwargs) of every decorator on the step."""
        for spec in getattr(self._func, STEP_DECORATORS_ATTR, ()):
            yield spec.name, f"flowassets.{spec.name}", [], dict(spec.args)
        for deco in [*step_wrappers(self._func), *getattr(self._func, MUTATORS_ATTR, ())]:
            yield (type(deco).__name__, deco.decorator_name, *deco.get_args_kwargs())

    def has_decorator(self, name: str) -> bool:
        return bool(self.get_decorator_specs(name))

    def get_decorator_specs(self, name: str) -> list[tuple[str, str, list[Any], dict[str, Any]]]:
        return [s for s in self.decorator_specs if (s[1] if "." in name else s[0]) == name]

    def add_decorator(self, deco_type: Any, deco_args: list[Any] | None = None,
                      deco_kwargs: dict[str, Any] | None = None, duplicates: int = IGNORE) -> Any:
        """Add a decorator (``retry``, ``"retry:times=2"``, a custom decorator class); returns
        what was added, or None when ``duplicates=IGNORE`` kept an existing one."""
        kwargs = dict(deco_kwargs or {})
        if isinstance(deco_type, str):
            name, given = parse_decospec(deco_type)
            if given and (deco_args or kwargs):
                raise FlowassetsError(f"add_decorator({deco_type!r}): give the arguments in "
                                      "the string or as deco_kwargs, not both.")
            custom = find_user_decorator(name)
            if custom is None:
                return self._add_spec(name, {**given, **kwargs}, duplicates)
            deco_type, kwargs = custom, {**given, **kwargs}
        name = getattr(deco_type, "_flowassets_decorator_name", None)
        if name is not None:
            if deco_args:
                raise FlowassetsError(f"@{name} takes keyword arguments only (deco_kwargs).")
            return self._add_spec(name, kwargs, duplicates)
        if isinstance(deco_type, type) and issubclass(deco_type, StepDecoratorBase):
            return self._add_custom(deco_type(*(deco_args or ()), **kwargs), duplicates)
        raise FlowassetsError(f"{self._where()}: add_decorator takes a flowassets decorator "
                              f"(retry, kubernetes, ...), its name, or a custom decorator "
                              f"class; got {deco_type!r}.")

    def remove_decorator(self, deco_name: str, deco_args: list[Any] | None = None,
                         deco_kwargs: dict[str, Any] | None = None) -> bool:
        """Remove every decorator of that name (and those arguments, when given)."""
        every = deco_args is None and deco_kwargs is None
        wanted = (list(deco_args or ()), dict(deco_kwargs or {}))
        removed = False
        for field in (WRAPPERS_ATTR, MUTATORS_ATTR):
            kept = []
            for deco in getattr(self._func, field, ()):
                if _matches(deco_name, type(deco).__name__, deco.decorator_name) and (
                        every or deco.get_args_kwargs() == wanted):
                    self._check_phase(deco, "remove")
                    removed = True
                else:
                    kept.append(deco)
            if hasattr(self._func, field):
                setattr(self._func, field, kept)
        specs = getattr(self._func, STEP_DECORATORS_ATTR, ())
        kept_specs = tuple(s for s in specs if s.name != deco_name or not (
            every or ([], dict(s.args)) == wanted))
        setattr(self._func, STEP_DECORATORS_ATTR, kept_specs)
        return removed or len(kept_specs) != len(specs)

    def _add_spec(self, name: str, args: dict[str, Any], duplicates: int) -> DecoratorSpec | None:
        specs = tuple(getattr(self._func, STEP_DECORATORS_ATTR, ()))
        if name not in MULTIPLE_ALLOWED and any(s.name == name for s in specs):
            if duplicates == self.IGNORE:
                return None
            if duplicates == self.ERROR:
                raise FlowassetsError(f"{self._where()}: @{name} is already on the step "
                                      "(add_decorator with duplicates=ERROR).")
            specs = tuple(s for s in specs if s.name != name)
        spec = DecoratorSpec(name, args, inserted_by=self._inserted_by)
        setattr(self._func, STEP_DECORATORS_ATTR, specs + (spec,))
        return spec

    def _add_custom(self, deco: StepDecoratorBase, duplicates: int) -> StepDecoratorBase | None:
        self._check_phase(deco, "add")
        field = deco._step_field
        existing = [d for d in getattr(self._func, field, ()) if d.decorator_name == deco.decorator_name]
        if existing:
            if duplicates == self.IGNORE:
                return None
            if duplicates == self.ERROR:
                raise FlowassetsError(f"{self._where()}: {deco} is already on the step "
                                      "(add_decorator with duplicates=ERROR).")
            setattr(self._func, field, [d for d in getattr(self._func, field) if d not in existing])
        deco.inserted_by = self._inserted_by
        deco(self._func)
        deco.external_init()
        return deco

    def _check_phase(self, deco: Any, verb: str) -> None:
        if isinstance(deco, StepMutator) and not self._pre_mutate:
            raise FlowassetsError(f"{self._where()}: {self._inserted_by} can {verb} step mutator "
                                  f"{deco} only in pre_mutate, not in mutate (as in Metaflow).")

    def _where(self) -> str:
        return f"flow {self._flow_cls.__name__}, step {self._func.__name__!r}"


class MutableFlow:
    """The flow as a mutator sees it (Metaflow's MutableFlow)."""

    def __init__(self, flow_cls: type, pre_mutate: bool, inserted_by: str):
        self._cls, self._pre_mutate, self._inserted_by = flow_cls, pre_mutate, inserted_by

    @property
    def steps(self) -> Iterator[tuple[str, MutableStep]]:
        for name, func in step_functions(self._cls).items():
            yield name, MutableStep(self._cls, func, self._pre_mutate, self._inserted_by)

    @property
    def parameters(self) -> Iterator[tuple[str, Any]]:
        from .parameters import Parameter

        found: dict[str, Any] = {}
        for klass in reversed(self._cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, Parameter)})
        yield from found.items()

    @property
    def decorator_specs(self) -> Iterator[tuple[str, str, list[Any], dict[str, Any]]]:
        for spec in self._cls.__dict__.get(FLOW_DECORATORS_ATTR, ()):
            yield spec.name, f"flowassets.{spec.name}", [], dict(spec.args)

    def has_decorator(self, name: str) -> bool:
        return any(spec.name == name for spec in self._cls.__dict__.get(FLOW_DECORATORS_ATTR, ()))

    def add_decorator(self, deco_type: Any, deco_args: list[Any] | None = None,
                      deco_kwargs: dict[str, Any] | None = None,
                      duplicates: int = MutableStep.IGNORE) -> DecoratorSpec | None:
        """Add a flow decorator (``schedule``, ``project``, ... or its name)."""
        name, args = (parse_decospec(deco_type) if isinstance(deco_type, str)
                      else (getattr(deco_type, "_flowassets_decorator_name", None), {}))
        if name is None or deco_args:
            raise FlowassetsError(f"flow {self._cls.__name__}: MutableFlow.add_decorator takes a "
                                  f"flowassets flow decorator or its name, got {deco_type!r}.")
        specs = tuple(self._cls.__dict__.get(FLOW_DECORATORS_ATTR, ()))
        if any(s.name == name for s in specs):
            if duplicates == MutableStep.IGNORE:
                return None
            if duplicates == MutableStep.ERROR:
                raise FlowassetsError(f"flow {self._cls.__name__}: @{name} is already on the flow.")
            specs = tuple(s for s in specs if s.name != name)
        spec = DecoratorSpec(name, {**args, **(deco_kwargs or {})}, inserted_by=self._inserted_by)
        setattr(self._cls, FLOW_DECORATORS_ATTR, specs + (spec,))
        return spec

    def remove_decorator(self, deco_name: str, deco_args: list[Any] | None = None,
                         deco_kwargs: dict[str, Any] | None = None) -> bool:
        specs = tuple(self._cls.__dict__.get(FLOW_DECORATORS_ATTR, ()))
        kept = tuple(s for s in specs if s.name != deco_name or (
            deco_kwargs is not None and dict(s.args) != deco_kwargs))
        setattr(self._cls, FLOW_DECORATORS_ATTR, kept)
        return len(kept) != len(specs)

    @property
    def configs(self) -> Iterator[tuple[str, Any]]:
        self._no_configs("configs")
        yield from ()

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and type(getattr(self._cls, name, None)).__name__ == "Config":
            self._no_configs(name)
        raise AttributeError(f"MutableFlow has no attribute {name!r}")

    def _no_configs(self, name: str) -> None:
        raise FlowassetsError(
            f"flow {self._cls.__name__}: flowassets' own mutators cannot read Config values "
            f"(MutableFlow.{name}): the class is mutated once, and one class is built with "
            "several config values. Pass config_expr(...) in the arguments of the decorators "
            "the mutator adds (resolved per build), or write the flow with Metaflow's "
            "Config/FlowMutator (from metaflow import ...), which flowassets runs unchanged.")

    def add_parameter(self, name: str, value: Any, overwrite: bool = False) -> None:
        """Add a Parameter (pre_mutate only, as in Metaflow)."""
        self._parameters_phase("add_parameter")
        if hasattr(self._cls, name) and not overwrite:
            raise FlowassetsError(f"flow {self._cls.__name__}: {name!r} already exists; pass "
                                  "overwrite=True to replace it.")
        setattr(self._cls, name, value)
        value.__set_name__(self._cls, name)

    def remove_parameter(self, name: str) -> bool:
        self._parameters_phase("remove_parameter")
        for klass in self._cls.__mro__:
            if name in vars(klass) and any(name == n for n, _ in self.parameters):
                delattr(klass, name)
                return True
        return False

    def _parameters_phase(self, verb: str) -> None:
        if not self._pre_mutate:
            raise FlowassetsError(f"flow {self._cls.__name__}: {verb} is allowed only in a "
                                  f"FlowMutator's pre_mutate (as in Metaflow), not in mutate.")


def step_functions(cls: type) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            value = step_function_of(value)
            if callable(value) and getattr(value, "is_step", False):
                steps[name] = value
            elif name in steps and not getattr(value, "is_step", False):
                del steps[name]
    return steps


def find_user_decorator(name: str) -> type | None:
    """A custom step decorator or step mutator class by name: qualified
    (``my_decorators.retry``) or, when unique, short (``retry``)."""
    found = [cls for cls in _all_subclasses(StepDecoratorBase)
             if not cls.__module__.startswith("flowassets.")
             and _matches(name, cls.__name__, str(cls))]
    return found[0] if len(found) == 1 else None


def _all_subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_all_subclasses(direct))]


def _matches(query: str, short: str, qualified: str) -> bool:
    if "." in query:
        return qualified == query or qualified.endswith("." + query)
    return short == query


def apply_mutators(cls: type) -> None:
    """Run the class's flow and step mutators once, and every custom decorator's ``init``;
    raises ``DecoratorError`` naming flow, step and mutator when one fails."""
    if cls.__dict__.get(_APPLIED_ATTR):
        return
    setattr(cls, _APPLIED_ATTR, True)
    flow_mutators = [m for klass in reversed(cls.__mro__)
                     for m in klass.__dict__.get(FLOW_MUTATORS_ATTR, ())]
    problems: list[Problem] = []
    if flow_mutators or any(getattr(f, MUTATORS_ATTR, None) for f in step_functions(cls).values()):
        if any(k.__module__ == "metaflow.flowspec" for k in cls.__mro__):
            raise DecoratorError([Problem(
                "custom-decorator-mixed", cls.__name__, "flowassets' StepMutator/FlowMutator "
                "on a Metaflow flow: its decorators are Metaflow's, which flowassets' mutators "
                "do not edit.", fix="import StepMutator and FlowMutator from metaflow in this file.")])
    for pre in (True, False):
        for mutator in flow_mutators:
            _guard(problems, cls, None, mutator, lambda m=mutator, p=pre: _flow_phase(cls, m, p))
        for name, func in step_functions(cls).items():
            for mutator in list(getattr(func, MUTATORS_ATTR, ())):
                _guard(problems, cls, name, mutator,
                       lambda m=mutator, f=func, p=pre: _step_phase(cls, f, m, p))
    for name, func in step_functions(cls).items():
        for wrapper in step_wrappers(func):
            _guard(problems, cls, name, wrapper, wrapper.external_init)
    if problems:
        raise DecoratorError(problems)


def _flow_phase(cls: type, mutator: FlowMutator, pre: bool) -> None:
    mutator.external_init()
    mutable = MutableFlow(cls, pre, str(mutator))
    (mutator.pre_mutate if pre else mutator.mutate)(mutable)


def _step_phase(cls: type, func: Any, mutator: StepMutator, pre: bool) -> None:
    mutator.external_init()
    mutable = MutableStep(cls, func, pre, mutator.decorator_name)
    (mutator.pre_mutate if pre else mutator.mutate)(mutable)


def _guard(problems: list[Problem], cls: type, step: str | None, who: Any, run: Any) -> None:
    try:
        run()
    except Exception as exc:  # noqa: BLE001 - user code: report it with where it happened
        problems.append(Problem("custom-decorator-failed", cls.__name__,
                                f"{who} raised {type(exc).__name__}: {exc}", step,
                                fix="fix the custom decorator or mutator, or remove it."))

"""Metaflow's decorators, recorded as plain specs when the flow class is defined.

Nothing is checked here: a flow file must import cleanly even when a decorator value is
wrong, and the problem is reported when the job is built (``graph.build``), with every
other problem in the same flow. ``DEFAULTS`` is the one place that lists each decorator,
its arguments and their defaults; it doubles as the list of allowed arguments.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

KUBERNETES_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "cpu": 1,
        "memory": 4096,  # MB
        "disk": 10240,  # MB
        "gpu": None,
        "gpu_vendor": "nvidia",
        "image": None,
        "image_pull_policy": None,
        "image_pull_secrets": None,
        "service_account": None,
        "secrets": None,
        "node_selector": None,
        "namespace": None,
        "tolerations": None,
        "labels": None,
        "annotations": None,
        "use_tmpfs": False,
        "tmpfs_tempdir": True,
        "tmpfs_size": None,  # MiB; defaults to half of memory when use_tmpfs is set
        "tmpfs_path": "/metaflow_temp",
        "persistent_volume_claims": None,
        "shared_memory": None,  # MiB
        "port": None,
        "qos": "Burstable",
        "security_context": None,
        "compute_pool": None,
        "hostname_resolution_timeout": 600,
    }
)

#: Step decorators: name -> {argument: default}.
STEP_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "resources": MappingProxyType(
            {"cpu": 1, "memory": 4096, "disk": None, "gpu": None, "shared_memory": None}
        ),
        "kubernetes": KUBERNETES_DEFAULTS,
        "batch": MappingProxyType(
            {"cpu": 1, "memory": 4096, "gpu": None, "image": None, "queue": None, "iam_role": None}
        ),
        "retry": MappingProxyType({"times": 3, "minutes_between_retries": 2}),
        "timeout": MappingProxyType({"seconds": 0, "minutes": 0, "hours": 0}),
        "catch": MappingProxyType({"var": None, "print_exception": True}),
        "environment": MappingProxyType({"vars": {}}),
        "secrets": MappingProxyType({"sources": [], "role": None}),
        "parallel": MappingProxyType({}),
        # Metaflow's CardDecorator.defaults (scope/rank/customize/refresh_interval are accepted
        # and have no effect here; save_errors renders an error card when a card fails).
        "card": MappingProxyType({"type": "default", "options": {}, "scope": "task", "rank": None,
                                  "timeout": 45, "id": None, "save_errors": True,
                                  "customize": False, "refresh_interval": 5}),
        "pypi": MappingProxyType({"packages": {}, "python": None}),
        "conda": MappingProxyType({"packages": {}, "libraries": {}, "python": None, "disabled": None}),
    }
)

#: Step decorators flowassets knows and refuses when the job is built (graph.decorator_checks),
#: with what to do instead.
UNSUPPORTED_STEP_DECORATORS: Mapping[str, str] = MappingProxyType({
    "pypi": "@pypi is not supported: flowassets does not build per-step environments. Install "
            "the packages in the image (@kubernetes(image=...)) or the local environment.",
    "conda": "@conda is not supported: flowassets does not build per-step environments. Install "
             "the packages in the image (@kubernetes(image=...)) or the local environment.",
})

#: Step decorators a step may carry more than once (Metaflow's ``allow_multiple``).
MULTIPLE_ALLOWED = frozenset({"card"})

#: Flow decorators: name -> {argument: default}.
FLOW_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "schedule": MappingProxyType(
            {"cron": None, "daily": True, "hourly": False, "weekly": False, "timezone": None}
        ),
        "project": MappingProxyType({"name": None}),
        "trigger_on_finish": MappingProxyType({"flow": None, "flows": []}),
        # One Dagster partition per value of a Parameter. Give exactly one of daily, hourly,
        # weekly, monthly (the first partition's start date, or a mapping of the Dagster
        # partitions class's own arguments), static (the keys) or dynamic (the name of a
        # DynamicPartitionsDefinition); end and timezone go with the time-based ones.
        "partitioned": MappingProxyType(
            {"parameter": None, "daily": None, "hourly": None, "weekly": None, "monthly": None,
             "static": None, "dynamic": None, "end": None, "timezone": None}
        ),
    }
)


@dataclass(frozen=True)
class DecoratorSpec:
    """What the user wrote: the decorator's name and only the arguments they set."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    inserted_by: str | None = None  # the mutator that added it (not written by hand)
    #: A Metaflow flow or step decorator flowassets has no entry for, from a Metaflow extension
    #: package: its class ("module.Class", imported again in each task), the options it adds
    #: to Metaflow's CLI, and the Metaflow hooks its class overrides (build refuses the ones
    #: flowassets cannot run).
    extension: str | None = None
    options: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    #: the ``--with`` text that added it to every step (``authoring.decospecs``)
    added_with: str | None = None

    def resolved(self) -> dict[str, Any]:
        """Defaults overlaid with what the user set (unknown arguments kept, for linting)."""
        defaults = STEP_DEFAULTS.get(self.name) or FLOW_DEFAULTS.get(self.name) or {}
        return {**defaults, **self.args}


STEP_DECORATORS_ATTR = "_flowassets_decorators"
FLOW_DECORATORS_ATTR = "_flowassets_flow_decorators"


def _caller_line(depth: int = 2) -> int | None:
    frame = inspect.currentframe()
    try:
        for _ in range(depth):
            frame = frame.f_back if frame else None
        return frame.f_lineno if frame else None
    finally:
        del frame


def _attach(target: Any, attr: str, spec: DecoratorSpec) -> Any:
    # Read the target's own dict: a subclass must not inherit its parent's flow decorators.
    existing = list(vars(target).get(attr, ())) if hasattr(target, "__dict__") else []
    setattr(target, attr, tuple(existing) + (spec,))
    return target


def _make_decorator(name: str, attr: str) -> Callable[..., Any]:
    def decorator(target: Any = None, **kwargs: Any) -> Any:
        line = _caller_line()
        if target is not None and callable(target) and not kwargs:
            return _attach(target, attr, DecoratorSpec(name, {}, line))
        if target is not None:
            kwargs = {"_positional": target, **kwargs}

        def apply(func: Any) -> Any:
            return _attach(func, attr, DecoratorSpec(name, dict(kwargs), line))

        return apply

    decorator.__name__ = name
    decorator.__qualname__ = name
    decorator._flowassets_decorator_name = name  # type: ignore[attr-defined]  # for add_decorator
    defaults = STEP_DEFAULTS.get(name) or FLOW_DEFAULTS.get(name) or {}
    decorator.__doc__ = (
        f"Metaflow's @{name}. Arguments and defaults: "
        + (", ".join(f"{k}={v!r}" for k, v in defaults.items()) or "none")
    )
    return decorator


resources = _make_decorator("resources", STEP_DECORATORS_ATTR)
kubernetes = _make_decorator("kubernetes", STEP_DECORATORS_ATTR)
batch = _make_decorator("batch", STEP_DECORATORS_ATTR)
retry = _make_decorator("retry", STEP_DECORATORS_ATTR)
timeout = _make_decorator("timeout", STEP_DECORATORS_ATTR)
catch = _make_decorator("catch", STEP_DECORATORS_ATTR)
environment = _make_decorator("environment", STEP_DECORATORS_ATTR)
secrets = _make_decorator("secrets", STEP_DECORATORS_ATTR)
parallel = _make_decorator("parallel", STEP_DECORATORS_ATTR)
card = _make_decorator("card", STEP_DECORATORS_ATTR)
pypi = _make_decorator("pypi", STEP_DECORATORS_ATTR)
conda = _make_decorator("conda", STEP_DECORATORS_ATTR)

schedule = _make_decorator("schedule", FLOW_DECORATORS_ATTR)
project = _make_decorator("project", FLOW_DECORATORS_ATTR)
trigger_on_finish = _make_decorator("trigger_on_finish", FLOW_DECORATORS_ATTR)
partitioned = _make_decorator("partitioned", FLOW_DECORATORS_ATTR)
partitioned.__doc__ = (
    "flowassets' @partitioned (Metaflow has none): the flow's job gets a Dagster partitions "
    "definition and each partition's run gets its key as the Parameter ``parameter``, e.g. "
    "@partitioned(daily=\"2026-01-01\", parameter=\"date\"). " + partitioned.__doc__.split(". ", 1)[1])


def step_decorators(func: Any) -> tuple[DecoratorSpec, ...]:
    ours = tuple(getattr(func, STEP_DECORATORS_ATTR, ()))
    if ours or not getattr(func, "decorators", None):
        return ours
    # A real Metaflow step: its decorator objects, innermost first (as ours are recorded).
    return tuple(_from_metaflow(d) for d in func.decorators)


def flow_decorators(cls: type) -> tuple[DecoratorSpec, ...]:
    # Only the class's own decorators: a subclass does not inherit its parent's schedule.
    ours = tuple(cls.__dict__.get(FLOW_DECORATORS_ATTR, ()))
    state = cls.__dict__.get("_flow_state")
    if state is None:
        return ours
    from metaflow.flowspec import FlowStateItems  # only reached for a Metaflow class

    # A Metaflow class keeps Metaflow's decorators; ours (e.g. @partitioned, which Metaflow has
    # not) may sit beside them.
    found = state.self_data.get(FlowStateItems.FLOW_DECORATORS) or {}
    return tuple(_from_metaflow(d) for decos in found.values() for d in decos) + ours


def _from_metaflow(deco: Any) -> DecoratorSpec:
    """A Metaflow decorator object as our spec: only the arguments the user set (Metaflow
    records them in ``_user_defined_attributes``), so defaults stay ours and typed."""
    attributes = getattr(deco, "attributes", {}) or {}
    user_set = getattr(deco, "_user_defined_attributes", None)
    names = attributes if user_set is None else user_set
    inserted_by = getattr(deco, "inserted_by", None)  # Metaflow: the mutators that added it
    extension = {}
    if deco.name not in FLOW_DEFAULTS and deco.name not in STEP_DEFAULTS:
        extension = _extension_decorator(type(deco))
    return DecoratorSpec(deco.name, {k: attributes[k] for k in names if k in attributes},
                         inserted_by=" <- ".join(map(str, inserted_by)) if inserted_by else None,
                         **extension)


def _extension_decorator(kind: type) -> dict[str, Any]:
    """What build needs to judge a Metaflow ``FlowDecorator`` or ``StepDecorator`` subclass
    flowassets does not know (from an extension package): which of the base class's hooks it
    overrides, read from the class itself (no metaflow import: its MRO names Metaflow's base)."""
    mro = kind.__mro__
    base = next((k for k in mro if k.__module__ == "metaflow.decorators"
                 and k.__name__ in ("FlowDecorator", "StepDecorator")), None)
    if base is None or not kind.__module__.startswith("metaflow_extensions."):
        return {}  # Metaflow's own decorators flowassets lacks stay refused by name
    hooks = {n for k in mro[mro.index(base):] for n in vars(k) if not n.startswith("_")}
    hooks -= {"name", "options", "defaults", "allow_multiple"}  # class settings, not hooks
    own = {n for k in mro[:mro.index(base)] for n in vars(k)}
    overrides = sorted((own & hooks) | (own & METAFLOW_STEP_HOOKS))
    return {"extension": f"{kind.__module__}.{kind.__qualname__}",
            "options": tuple(getattr(kind, "options", None) or {}), "overrides": tuple(overrides)}


#: Hooks of Metaflow's step decorators (listed so that a flow decorator from an extension
#: package defining them is refused: flowassets calls them on step decorators only).
METAFLOW_STEP_HOOKS = frozenset({
    "step_init", "package_init", "add_to_package", "step_task_retry_count", "runtime_init",
    "runtime_task_created", "runtime_finished", "runtime_step_cli", "task_pre_step",
    "task_decorate", "task_post_step", "task_exception", "task_finished"})

#: The hooks of such a flow decorator flowassets honours: ``init`` and ``flow_init`` run in
#: each task before the step body (runtime.flow_extensions), with its ``options`` resolved as
#: Metaflow's CLI resolves them; ``get_top_level_options`` only hands options to Metaflow's
#: subprocesses, which flowassets' tasks read themselves.
EXTENSION_HOOKS_HONOURED = frozenset({"init", "flow_init", "get_top_level_options"})

#: The hooks of a step decorator from an extension package flowassets honours: each task calls
#: ``init``, ``step_init``, ``task_pre_step``, ``task_decorate``, ``task_post_step``,
#: ``task_exception`` and ``task_finished`` in Metaflow's order (runtime.step_extensions).
#: The ``runtime_*`` hooks run in Metaflow's launching runtime, ``package_init`` /
#: ``add_to_package`` in its code packager, ``step_task_retry_count`` changes its retry
#: counting, and the ``*_ctx`` variants read Metaflow's ``system_ctx``: none exist here.
STEP_EXTENSION_HOOKS_HONOURED = frozenset({
    "init", "step_init", "task_pre_step", "task_decorate", "task_post_step", "task_exception",
    "task_finished"})

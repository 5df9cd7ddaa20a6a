"""Metaflow's own Config machinery, applied to an unchanged ``metaflow.FlowSpec`` class.

Metaflow resolves configs in its CLI process (``cli.start``): it computes ``config_options``,
calls ``cls._process_config_decorators`` (the *pre_mutate* phase of FlowMutators and
StepMutators, and the resolution of ``config_expr`` in Parameters), then runs the *mutate*
phase and ``external_init`` of every decorator (``decorators._init_step_decorators``), which
resolves ``config_expr`` in decorator arguments. flowassets has no Metaflow CLI, so
``prepare_metaflow_class`` runs those same Metaflow functions, in that order, and the graph is
then read from the processed class as for any Metaflow class (``metaflow_graph``).

Processing changes the class and its step functions in place and happens once per class (as in
Metaflow, where each run is a new process). A class already processed with other values is
loaded again from its file, so one process can build a flow with several config values.
Metaflow is imported only here, lazily.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import json
import sys
import weakref
from typing import Any, Mapping

from ..errors import FlowassetsError

#: class -> {values key: processed class}
_PREPARED: "weakref.WeakKeyDictionary[type, dict[str, type]]" = weakref.WeakKeyDictionary()
#: attribute of a processed class: the config values it was processed with (name -> value)
VALUES_ATTR = "_flowassets_config_values"
_COPIES = itertools.count(1)


class ConfigValueError(FlowassetsError):
    """A Config's value could not be read, parsed or applied."""


def config_parameters(cls: type) -> list[tuple[str, Any]]:
    """(attribute, metaflow Config) of the class, in Metaflow's order."""
    return [(var, p) for var, p in cls._get_parameters() if p.IS_CONFIG_PARAMETER]


def needs_processing(cls: type) -> bool:
    """Whether the class has a Config or a mutator (else there is nothing to prepare)."""
    from metaflow.flowspec import FlowStateItems

    if cls._flow_state[FlowStateItems.FLOW_MUTATORS]:
        return True
    if any(step.config_decorators for step in cls._steps):
        return True
    return bool(config_parameters(cls))


def values_key(values: Mapping[str, Any] | None) -> str:
    return json.dumps(values or {}, sort_keys=True, default=repr)


def resolve_metaflow_configs(cls: type, files: Mapping[str, str] | None = None,
                             texts: Mapping[str, str] | None = None,
                             skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every Config's value, as Metaflow's CLI computes it from ``--config NAME FILE``
    (``files``), ``--config-value NAME TEXT`` (``texts``) and the flow's defaults: Metaflow's
    ``ConfigInput.process_configs`` does the work (parsers, JSON, required, defaults)."""
    from metaflow import parameters
    from metaflow._vendor import click
    from metaflow.user_configs.config_options import ConfigInput, ConvertDictOrStr, ConvertPath

    configs = [(v, p) for v, p in config_parameters(cls) if p.name not in skip]
    if not configs:
        return {}
    names = {p.name for _, p in configs}
    unknown = sorted((set(files or {}) | set(texts or {})) - names)
    if unknown:
        raise ConfigValueError(f"flow {cls.__name__}: no Config named {unknown}; the flow's "
                               f"configs are {sorted(names)}.")
    required = [p.name for _, p in configs if p.kwargs.get("required")]
    defaults = {p.name: (p.kwargs.get("default"), p._default_is_file) for _, p in configs}
    parsers = {p.name: (p.parser, p.kwargs["plain"]) for _, p in configs}
    config_input = ConfigInput(required, defaults, parsers)
    paths = {k: ConvertPath.convert_value(v, False) for k, v in (files or {}).items()}
    values = {k: ConvertDictOrStr.convert_value(v, False) for k, v in (texts or {}).items()}
    try:
        with parameters.flow_context(cls):
            config_input.process_configs(cls.__name__, "config", paths, True, "local")
            options = config_input.process_configs(cls.__name__, "config_value", values, True,
                                                   "local")
    except click.UsageError as exc:
        raise ConfigValueError(f"flow {cls.__name__}: {exc.format_message()}") from None
    except Exception as exc:  # noqa: BLE001 - a user parser or default function failed
        raise ConfigValueError(f"flow {cls.__name__}: a Config could not be read: "
                               f"{type(exc).__name__}: {exc}") from None
    return {name: _plain(value) for name, value in (options or {}).items()}


def _plain(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def prepare_metaflow_class(cls: type, config_values: Mapping[str, Any] | None = None) -> type:
    """The Metaflow class processed as Metaflow's CLI would with these config values (name ->
    value, as a step sees it; None: the flow's defaults): Configs set, mutators applied
    (pre_mutate and mutate), ``config_expr`` resolved in Parameters and decorators.

    Returns ``cls`` itself when it has no Config and no mutator; else a processed class (``cls``
    the first time, a fresh copy loaded from its file for other values). The values used are on
    the result as ``_flowassets_config_values``. Raises ``ConfigValueError`` naming the flow."""
    if getattr(cls, VALUES_ATTR, None) is not None:
        if config_values is None or values_key(config_values) == values_key(getattr(cls, VALUES_ATTR)):
            return cls
        cls = cls._flowassets_original
    if not needs_processing(cls):
        return cls
    given = dict(config_values or {})
    _check_names(cls, given)
    missing = {p.name for _, p in config_parameters(cls)} - set(given)
    # Configs not given take the flow's defaults (read, parsed, required checked by Metaflow).
    values = {**(resolve_metaflow_configs(cls, skip=frozenset(given)) if missing else {}), **given}
    key = values_key(values)
    done = _PREPARED.setdefault(cls, {})
    if key in done:
        return done[key]
    target = cls if not cls._configs_processed else _fresh_copy(cls)
    try:
        processed = _process(target, values)
    except FlowassetsError:
        raise
    except Exception as exc:  # noqa: BLE001 - a mutator or config_expr of the user failed
        raise ConfigValueError(
            f"flow {cls.__name__}: applying its configs and mutators failed: "
            f"{type(exc).__name__}: {exc}") from None
    setattr(processed, VALUES_ATTR, values)
    processed._flowassets_original = cls
    done[key] = processed
    return processed


def _check_names(cls: type, values: Mapping[str, Any]) -> None:
    names = {p.name for _, p in config_parameters(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigValueError(f"flow {cls.__name__}: no Config named {unknown}; the flow's "
                               f"configs are {sorted(names)}.")


def _process(cls: type, values: Mapping[str, Any]) -> type:
    from metaflow import parameters
    from metaflow.flowspec import FlowStateItems
    from metaflow.user_configs.config_parameters import ConfigValue

    plain = {p.name: bool(p.kwargs.get("plain")) for _, p in config_parameters(cls)}
    state = cls._flow_state.self_data[FlowStateItems.CONFIGS]
    options = {}
    for name, value in values.items():
        # What ConfigInput does for values already materialized (its "kv." path).
        state[name] = (value, plain[name])
        options[name.replace("-", "_").lower()] = (
            value if value is None or plain[name] else ConfigValue(value))
    with parameters.flow_context(cls):
        for mutator in cls._flow_state[FlowStateItems.FLOW_MUTATORS]:
            mutator.external_init()
        cls = cls._process_config_decorators(options) or cls
        _mutate(cls)
        _init_decorators(cls)
    return cls


def _mutate(cls: type) -> None:
    """The mutate phase of ``metaflow.decorators._init_step_decorators``."""
    from metaflow.decorators import _run_step_mutator
    from metaflow.flowspec import FlowStateItems
    from metaflow.user_decorators.mutable_flow import MutableFlow

    for deco in cls._flow_state[FlowStateItems.FLOW_MUTATORS]:
        deco.mutate(MutableFlow(cls, pre_mutate=False, statically_defined=deco.statically_defined,
                                inserted_by=[deco.decorator_name] + (deco.inserted_by or [])))
        cls._flow_state[FlowStateItems.CACHED_PARAMETERS] = None
    for step in cls._steps:
        for deco in step.config_decorators:
            if not deco._mutate_called:
                _run_step_mutator(cls, step, deco, "Evaluating step level decorator %s for %s (mutate)")
        if step.config_decorators:
            setattr(cls, step.name, step)
        for deco in step.decorators:
            _record_mutator_arguments(deco)
    cls._init_graph()


def _record_mutator_arguments(deco: Any) -> None:
    """``MutableStep.add_decorator(name, deco_kwargs=...)`` updates the decorator's attributes
    but not its ``_user_defined_attributes``, which is what says which arguments were given
    (``authoring.decorators`` reads only those). Recorded here, before ``external_init`` fills
    in deployment defaults (a @kubernetes namespace, image...) that nobody gave."""
    if not getattr(deco, "inserted_by", None) or getattr(deco, "_ran_init", False):
        return  # written in the file (its arguments are recorded), or already initialized
    defaults = type(deco).defaults or {}
    deco._user_defined_attributes.update(
        k for k, v in deco.attributes.items() if k in defaults and v != defaults[k])


def _init_decorators(cls: type) -> None:
    """``external_init`` of every step and flow decorator: resolves ``config_expr`` (and
    ``**config``) in their arguments, as Metaflow does before a run."""
    from metaflow.flowspec import FlowStateItems

    for step in cls._steps:
        for deco in step.decorators:
            deco.external_init()
        for wrapper in step.wrappers or []:
            wrapper.external_init()
    for decos in cls._flow_state[FlowStateItems.FLOW_DECORATORS].values():
        for deco in decos:
            deco.external_init()


def _fresh_copy(cls: type) -> type:
    """The class loaded again from its file under a new module name: Metaflow processes a
    class in place, so other values need another class object."""
    try:
        path = inspect.getfile(cls)
    except (TypeError, OSError):
        path = None
    if not path or not path.endswith(".py"):
        raise ConfigValueError(
            f"flow {cls.__name__}: it was already built with other config values in this "
            "process and has no file to load a second copy from. Build it once per process "
            "(or define it in a file).")
    name = f"flowassets_configs_{next(_COPIES)}_{cls.__module__.rsplit('.', 1)[-1]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    copy = getattr(module, cls.__name__, None)
    if not isinstance(copy, type):
        raise ConfigValueError(f"flow {cls.__name__}: reloading {path} did not define it again.")
    return copy

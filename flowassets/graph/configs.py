"""Config values: where they come from, once, before a job is built.

A run's configs are fixed before anything runs (Metaflow reads them in its CLI): the values
given (``--config NAME FILE``, ``--config-value NAME TEXT``, Metaflow's
``METAFLOW_FLOW_CONFIG`` / ``METAFLOW_FLOW_CONFIG_VALUE`` JSON maps, or values from Python)
are merged with the flow's defaults into one mapping, config name -> value. The job is built
from that mapping (decorators and Parameter defaults resolved), it travels with the job
(translator settings, so every process rebuilds the same job) and the start step stores each
value as an artifact. Metaflow classes use Metaflow's own ``ConfigInput``
(``metaflow_configs``); flowassets' own flows the same rules here.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any, Mapping

from ..authoring.configs import Config, ConfigValue, ParameterContext
from ..authoring.flow_classes import is_metaflow_class
from ..errors import FlowassetsError

CONFIG_FILES_ENV = "METAFLOW_FLOW_CONFIG"
CONFIG_VALUES_ENV = "METAFLOW_FLOW_CONFIG_VALUE"


class ConfigError(FlowassetsError):
    """A Config's value is missing, unreadable or does not parse."""


def own_configs(cls: type) -> list[tuple[str, Config]]:
    """(attribute, Config) of a flowassets flow class, base classes first."""
    found: dict[str, Config] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Config):
                found[name] = value
    return list(found.items())


def sources_from_env(environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Metaflow's environment variables: JSON maps of config name -> file, and -> value
    (a value that is not a string is JSON-encoded, as Metaflow's MultipleTuple does)."""
    environ = os.environ if environ is None else environ
    found = []
    for var in (CONFIG_FILES_ENV, CONFIG_VALUES_ENV):
        raw = environ.get(var)
        if not raw:
            found.append({})
            continue
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{var} is not a JSON object of config name -> value: {exc}.") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{var} must be a JSON object of config name -> value.")
        found.append({k: v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()})
    return found[0], found[1]


def resolve_config_values(cls: type, files: Mapping[str, str] | None = None,
                          texts: Mapping[str, str] | None = None,
                          values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every config of the flow -> its value: ``values`` as given (already parsed), else
    ``files`` (read and parsed), else ``texts`` (parsed), else the flow's default."""
    values = dict(values or {})
    files = {k: v for k, v in (files or {}).items() if k not in values}
    texts = {k: v for k, v in (texts or {}).items() if k not in values}
    both = sorted(set(files) & set(texts))
    if both:
        raise ConfigError(f"flow {cls.__name__}: config(s) {both} given both as a file and as a "
                          "value; give one.")
    if is_metaflow_class(cls):
        from .metaflow_configs import resolve_metaflow_configs

        resolved = resolve_metaflow_configs(cls, files, texts, skip=frozenset(values))
        return {**resolved, **values}
    return _resolve_own(cls, files, texts, values)


def _resolve_own(cls: type, files: Mapping[str, str], texts: Mapping[str, str],
                 values: Mapping[str, Any]) -> dict[str, Any]:
    flow = cls.__name__
    configs = own_configs(cls)
    names = {c.name for _, c in configs}
    unknown = sorted((set(files) | set(texts) | set(values)) - names)
    if unknown:
        raise ConfigError(f"flow {flow}: no Config named {unknown}; its configs are "
                          f"{sorted(names)}.")
    flow_file = _file_of(cls)
    resolved: dict[str, Any] = {}
    problems: list[str] = []
    for _, config in configs:
        name = config.name
        try:
            if name in values:
                resolved[name] = values[name]
            elif name in files:
                resolved[name] = parse_text(config, _read(files[name], None, flow, name), flow)
            elif name in texts:
                resolved[name] = parse_text(config, texts[name], flow)
            else:
                resolved[name] = _default(cls, config, flow_file)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if resolved[name] is None and config.required:
            problems.append(f"flow {flow}: Config {name!r} is required: pass --config {name} "
                            f"FILE or --config-value {name} JSON.")
    if problems:
        raise ConfigError("\n".join(problems))
    return resolved


def _default(cls: type, config: Config, flow_file: str | None) -> Any:
    flow = cls.__name__
    if config.default is not None:
        path = config.default
        if callable(path):
            path = path(parameter_context(flow, config.name, None))
        return parse_text(config, _read(str(path), flow_file, flow, config.name, default=True), flow)
    value = config.default_value
    if callable(value):
        value = value(parameter_context(flow, config.name, None))
    if value is None:
        return None
    if isinstance(value, str):
        return parse_text(config, value, flow)
    if not config.plain and not isinstance(value, Mapping):
        raise ConfigError(f"flow {flow}: Config {config.name!r}: default_value must be a mapping "
                          f"or JSON text, got {type(value).__name__}.")
    return ConfigValue(value).to_dict() if isinstance(value, Mapping) else value


def _read(path: str, flow_file: str | None, flow: str, name: str, default: bool = False) -> str:
    candidates = [path]
    if flow_file and not os.path.isabs(path):
        candidates.append(os.path.join(os.path.dirname(os.path.abspath(flow_file)), path))
    for candidate in candidates:
        try:
            with open(candidate, encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            continue
    kind = "default configuration file" if default else "configuration file"
    raise ConfigError(f"flow {flow}: {kind} {path!r} could not be read for Config {name!r}. "
                      f"Pass an existing file: --config {name} FILE.")


def parse_text(config: Config, text: str, flow: str) -> Any:
    """Text -> value: the Config's parser, else the text itself (plain), else JSON."""
    parser = config.parser
    try:
        if parser is not None:
            value = _parser_function(parser)(text)
        elif config.plain:
            return text
        else:
            value = json.loads(text)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user parser may raise anything
        raise ConfigError(f"flow {flow}: Config {config.name!r}: the value does not parse "
                          f"({type(exc).__name__}: {exc}).") from None
    if config.plain:
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"flow {flow}: Config {config.name!r}: the value must be a mapping (a "
                          f"JSON object), got {type(value).__name__}; use plain=True for others.")
    return ConfigValue(value).to_dict()


def _parser_function(parser: Any) -> Any:
    if callable(parser):
        return parser
    path, _, func = str(parser).rpartition(".")
    if path.startswith(".") or not path:
        path = "metaflow" + path if path else path
    try:
        found = getattr(importlib.import_module(path), func, None)
    except ImportError as exc:
        raise ConfigError(f"cannot import the parser {parser!r} ({exc}).") from None
    if not callable(found):
        raise ConfigError(f"parser {parser!r} is not a callable.")
    return found


def _file_of(cls: type) -> str | None:
    import inspect

    try:
        return inspect.getfile(cls)
    except (TypeError, OSError):
        return None


def parameter_context(flow: str, parameter: str, configs: Mapping[str, Any] | None,
                      ds_type: str = "local") -> ParameterContext:
    """What a callable default gets (Metaflow's fields): configs as one ConfigValue."""
    return ParameterContext(flow_name=flow, user_name=user_name(), parameter_name=parameter,
                            logger=_log, ds_type=ds_type,
                            configs=None if configs is None else ConfigValue(
                                {k: v for k, v in configs.items()}))


def user_name() -> str | None:
    """Who runs the flow, as Metaflow's ``get_username`` finds it (METAFLOW_USER first)."""
    import getpass

    name = os.environ.get("METAFLOW_USER") or os.environ.get("USER")
    try:
        return name or getpass.getuser()
    except (KeyError, OSError):
        return None


def _log(*args: Any, **kwargs: Any) -> None:
    print(*args)


def config_values_key(values: Mapping[str, Any] | None) -> str:
    return json.dumps(values or {}, sort_keys=True, default=repr)


def resolved_decorators(specs: tuple, configs: Mapping[str, Any], flow: str, step: str | None,
                        file: str | None, problems: list) -> tuple:
    """Decorator specs with ``config_expr`` / ``cfg.x`` arguments replaced by their values;
    an expression that fails becomes a problem naming flow, step and decorator."""
    from dataclasses import replace

    from ..authoring.configs import is_lazy, resolve_lazy
    from ..errors import Problem

    out = []
    for spec in specs:
        if not _has_lazy(spec.args, is_lazy):
            out.append(spec)
            continue
        try:
            out.append(replace(spec, args=resolve_lazy(dict(spec.args), configs)))
        except Exception as exc:  # noqa: BLE001 - the user's expression
            problems.append(Problem(
                "decorator-config-expr", flow, f"@{spec.name}: a config expression could not be "
                f"evaluated: {type(exc).__name__}: {exc}", step, file, spec.line,
                "check the Config's value and the expression (configs are bound by their name)."))
            out.append(replace(spec, args={k: v for k, v in spec.args.items()
                                           if not _has_lazy(v, is_lazy)}))
    return tuple(out)


def _has_lazy(value: Any, is_lazy: Any) -> bool:
    if is_lazy(value):
        return True
    if isinstance(value, dict):
        return any(_has_lazy(k, is_lazy) or _has_lazy(v, is_lazy) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(_has_lazy(v, is_lazy) for v in value)
    return False

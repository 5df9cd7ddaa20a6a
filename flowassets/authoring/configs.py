"""Metaflow's ``Config`` and ``config_expr`` (Metaflow 2.13+), for flowassets' own flows.

A Config is a value fixed before the run starts (a file or JSON text, or the flow's default),
so unlike a Parameter it can shape the job itself: ``@resources(cpu=config_expr("cfg.cpu"))``
or ``@resources(cpu=cfg.cpu)`` is resolved when the job is built, so the pod gets that cpu. In
a step ``self.cfg`` is an immutable ``ConfigValue`` (attribute or key access); the run stores
it as a plain dict artifact, as Metaflow does.

Nothing here resolves anything: ``graph.configs`` computes the values and ``resolve_lazy``
replaces the delayed expressions when the graph is built.
"""

from __future__ import annotations

import collections.abc
import inspect
from typing import Any, Callable, Iterator, Mapping, NamedTuple

UNPACK_KEY = "_unpacked_delayed_"


class ParameterContext(NamedTuple):
    """What a callable default receives (Metaflow's ``ParameterContext``, same fields)."""

    flow_name: str
    user_name: str
    parameter_name: str
    logger: Callable[..., None]
    ds_type: str
    configs: Any  # a ConfigValue: config name -> value


class ConfigValue(collections.abc.Mapping):
    """An immutable nested mapping read as ``cfg.a.b`` or ``cfg["a"]["b"]`` (Metaflow's)."""

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", {k: _construct(v) for k, v in data.items()})

    def to_dict(self) -> dict[str, Any]:
        """A plain (mutable) copy: what the run stores as the artifact."""
        return _to_dict(self._data)

    def __getattr__(self, key: str) -> Any:
        if key == "_data":
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, ConfigValue):
            return self._data == other._data
        return isinstance(other, dict) and self._data == other

    def __hash__(self) -> int:  # a Mapping with __eq__: unhashable, as a dict
        raise TypeError("unhashable type: 'ConfigValue'")

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple:
        return (ConfigValue, (self.to_dict(),))

    def _immutable(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("ConfigValue is immutable")

    __setattr__ = __delattr__ = __setitem__ = __delitem__ = _immutable
    update = pop = popitem = setdefault = clear = _immutable


def _construct(value: Any) -> Any:
    if isinstance(value, ConfigValue):
        return value
    if isinstance(value, collections.abc.Mapping):
        return ConfigValue(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_construct(v) for v in value)
    return value


def _to_dict(value: Any) -> Any:
    if isinstance(value, collections.abc.Mapping):
        return {k: _to_dict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_dict(v) for v in value)
    return value


class ConfigExpr(collections.abc.Mapping):
    """A Python expression over the flow's configs, evaluated when the job is built.

    ``config_expr("cfg").a.b`` and ``cfg.a["b"]`` extend it; ``**config_expr("cfg")`` in a
    decorator's arguments unpacks the mapping it evaluates to."""

    def __init__(self, expr: str, scope: Mapping[str, Any] | None = None,
                 access: tuple[Any, ...] = ()):
        object.__setattr__(self, "_expr", expr)
        object.__setattr__(self, "_scope", scope)
        object.__setattr__(self, "_access", access)

    def __getattr__(self, name: str) -> "ConfigExpr":
        if name.startswith("__"):
            raise AttributeError(name)
        return ConfigExpr(self._expr, self._scope, self._access + (name,))

    def __getitem__(self, key: Any) -> "ConfigExpr":
        if isinstance(key, str) and key.startswith(UNPACK_KEY):
            return self
        return ConfigExpr(self._expr, self._scope, self._access + ((key,),))

    def __iter__(self) -> Iterator[str]:
        yield f"{UNPACK_KEY}{id(self)}"

    def __len__(self) -> int:
        return 1

    @property
    def text(self) -> str:
        parts = [self._expr if not self._access else f"({self._expr})"]
        for item in self._access:
            parts.append(f"[{item[0]!r}]" if isinstance(item, tuple) else f".{item}")
        return "".join(parts)

    def evaluate(self, configs: Mapping[str, Any]) -> Any:
        """The value, with each config bound by name (as a ConfigValue unless plain)."""
        value = eval(self._expr, dict(self._scope or {}), dict(configs))  # noqa: S307 - the user's own expression
        for item in self._access:
            value = value[item[0]] if isinstance(item, tuple) else getattr(value, item)
        return value

    def __repr__(self) -> str:
        return f"config_expr({self.text!r})"


def config_expr(expr: str) -> ConfigExpr:
    """An expression over the flow's configs, for decorator arguments and Parameter defaults:
    ``@environment(vars={"n": config_expr("str(cfg.value)")})``. Names other than configs are
    looked up in the module that calls ``config_expr``."""
    frame = inspect.currentframe()
    scope = frame.f_back.f_globals if frame and frame.f_back else {}
    return ConfigExpr(expr, scope)


_MISSING = object()


class Config(collections.abc.Mapping):
    """A flow configuration (Metaflow's ``Config``): read once before the run, immutable.

    ``default`` is a file path (relative to the working directory, else to the flow file);
    ``default_value`` a mapping or JSON text; either may be a callable taking a
    ``ParameterContext``. ``parser`` (a callable or a dotted name) turns the text into a
    mapping; ``plain=True`` keeps the parsed value as it is."""

    def __init__(self, name: str, default: Any = None, default_value: Any = None,
                 help: str | None = None, required: bool | None = False,  # noqa: A002
                 parser: Callable[[str], Any] | str | None = None, plain: bool = False,
                 **kwargs: Any):
        self.name = name
        self.default = default
        self.default_value = default_value
        self.help = help
        self.required = bool(required)
        self.parser = parser
        self.plain = bool(plain)
        self.unknown_kwargs = dict(kwargs)
        self.attr_name: str | None = None

    def __set_name__(self, owner: type, attr_name: str) -> None:
        self.attr_name = attr_name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance._flowassets_read_artifact(self.attr_name)
        return value if value is None or self.plain else ConfigValue(value)

    def __set__(self, instance: Any, value: Any) -> None:
        raise TypeError(f"Config {self.name!r} is immutable inside a step.")

    # ``cfg.cpu`` and ``cfg["cpu"]`` in the class body: delayed, as config_expr("cfg.cpu").
    def __getattr__(self, name: str) -> ConfigExpr:
        if name.startswith("_") or name in _OWN_ATTRS:
            raise AttributeError(name)
        return getattr(ConfigExpr(self.name), name)

    def __getitem__(self, key: Any) -> ConfigExpr:
        return ConfigExpr(self.name)[key]

    def __iter__(self) -> Iterator[str]:  # ``**cfg`` unpacks the config's value
        return iter(ConfigExpr(self.name))

    def __len__(self) -> int:
        return 1

    def __eq__(self, other: Any) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Config({self.name!r})"


_OWN_ATTRS = frozenset({"name", "default", "default_value", "help", "required", "parser", "plain",
                        "unknown_kwargs", "attr_name"})


def is_lazy(value: Any) -> bool:
    return isinstance(value, (ConfigExpr, Config))


def resolve_lazy(value: Any, configs: Mapping[str, Any]) -> Any:
    """``value`` with every ConfigExpr / Config replaced by its value (mappings as plain dicts,
    as Metaflow resolves decorator arguments); ``configs`` binds names to ConfigValues."""
    if isinstance(value, Config):
        value = ConfigExpr(value.name)
    if isinstance(value, ConfigExpr):
        result = value.evaluate(configs)
        return result.to_dict() if isinstance(result, ConfigValue) else result
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.startswith(UNPACK_KEY):
                unpacked = resolve_lazy(item, configs)
                if not isinstance(unpacked, collections.abc.Mapping):
                    raise TypeError(f"** needs a mapping, {item!r} is {unpacked!r}")
                out.update(unpacked)
            else:
                out[resolve_lazy(key, configs)] = resolve_lazy(item, configs)
        return out
    if isinstance(value, (list, tuple, set)):
        return type(value)(resolve_lazy(v, configs) for v in value)
    return value


def bound_configs(values: Mapping[str, Any], plain: Mapping[str, bool]) -> dict[str, Any]:
    """Config name -> what an expression sees (a ConfigValue, or the value of a plain one)."""
    return {name: value if value is None or plain.get(name) or not isinstance(
        value, collections.abc.Mapping) else ConfigValue(value) for name, value in values.items()}

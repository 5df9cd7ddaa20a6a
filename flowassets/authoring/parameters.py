"""Metaflow's ``Parameter``: a typed, named run input that every task can read.

A Parameter is a descriptor: on the class it is the declaration (so the translator can turn
it into typed Dagster config), on a running flow object it reads the run's value.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ..errors import ParameterError


class JSONType:
    """Marks a Parameter whose value is JSON text, parsed before the flow sees it."""

    name = "JSON"


_MISSING = object()
_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool"}


class Parameter:
    """A run input, declared as a class attribute of a FlowSpec."""

    def __init__(
        self,
        name: str,
        default: Any = _MISSING,
        type: Any = None,  # noqa: A002 - Metaflow's argument name
        help: str | None = None,  # noqa: A002
        required: bool = False,
        show_default: bool = True,
        separator: str | None = None,
        **kwargs: Any,
    ):
        self.name = name
        self.default = None if default is _MISSING else default
        self.has_default = default is not _MISSING
        self.help = help
        self.required = required
        self.show_default = show_default
        self.separator = separator
        self.unknown_kwargs = dict(kwargs)
        self.attr_name: str | None = None
        self.type_given = type is not None
        if type is None:
            # A callable default is Metaflow's deploy-time default: called once per run with a
            # ParameterContext (never here), and str unless a type is given, as in Metaflow. A
            # config expression is resolved when the job is built: str unless a type is given.
            base = None if callable(self.default) or _is_lazy(self.default) else self.default
            type = builtins_type(base) if base is not None else str
        self.type = type

    def __set_name__(self, owner: type, attr_name: str) -> None:
        self.attr_name = attr_name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._flowassets_read_artifact(self.attr_name)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"Parameter {self.name!r} is read-only inside a step; assign the value to another name."
        )

    @property
    def type_name(self) -> str:
        if self.type is FilePath:
            return "file"
        if self.type is JSONType or isinstance(self.type, JSONType):
            return "JSON"
        return _TYPE_NAMES.get(self.type, getattr(self.type, "__name__", str(self.type)))

    def convert(self, raw: Any, flow_name: str) -> Any:
        """Turn a value from the CLI or run config into the declared type, or say why not."""
        if raw is None:
            return None
        kind = self.type_name
        try:
            if kind == "JSON":
                return json.loads(raw) if isinstance(raw, str) else raw
            if kind == "bool":
                if isinstance(raw, bool):
                    return raw
                text = str(raw).strip().lower()
                if text in ("true", "1", "yes", "y", "on"):
                    return True
                if text in ("false", "0", "no", "n", "off"):
                    return False
                raise ValueError(f"not a boolean: {raw!r}")
            if kind == "int":
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    raise ValueError(f"not an integer: {raw!r}")
                return int(raw)
            if kind == "float":
                return float(raw)
            if kind in ("str", "file"):
                return str(raw)
            return self.type(raw)
        except (ValueError, TypeError) as exc:
            raise ParameterError(
                f"flow {flow_name}: Parameter {self.name!r} expects {kind}, got {raw!r} ({exc})."
            ) from None

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, default={self.default!r}, type={self.type_name})"


class FilePath:
    """Marks an ``IncludeFile``: the run-time value is a path, the flow sees the contents."""

    name = "file"


class IncludeFile(Parameter):
    """Metaflow's ``IncludeFile``: a file read once when the run starts, whose contents (text,
    or bytes with ``is_text=False``) every task sees as the parameter's value.

    The run is given a path (``--NAME PATH`` on the command line, a path in the launchpad); a
    ``default`` path relative to the flow file is found from any working directory."""

    def __init__(self, name: str, required: bool = False, is_text: bool = True,
                  encoding: str = "utf-8", help: str | None = None,  # noqa: A002
                  default: Any = _MISSING, **kwargs: Any):
        super().__init__(name, default=default, type=FilePath, help=help, required=required,
                         **kwargs)
        self.is_text = True if is_text is None else bool(is_text)
        self.encoding = encoding or "utf-8"


def read_included_file(path: str, is_text: bool, encoding: str, flow_name: str,
                       parameter: str) -> str | bytes:
    """The contents of an ``IncludeFile``'s path, or an error naming the flow and parameter."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ParameterError(
            f"flow {flow_name}: IncludeFile {parameter!r}: cannot read {path!r} "
            f"({exc.strerror or exc}). Pass an existing file: --{parameter} PATH.") from None
    if not is_text:
        return data
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParameterError(
            f"flow {flow_name}: IncludeFile {parameter!r}: {path!r} is not {encoding} text ({exc}); "
            "use is_text=False to get its bytes.") from None


def _is_lazy(value: Any) -> bool:
    from .configs import is_lazy

    return is_lazy(value)


def builtins_type(value: Any) -> Callable[..., Any]:
    for candidate in (bool, int, float, str):
        if isinstance(value, candidate):
            return candidate
    return str

"""A flow's Parameters as checked ``ParameterSpec``s: names, types and defaults.

A default written as a config expression (``config_expr("cfg.x")``, ``cfg.x``) is resolved here,
with the config values the graph is built with, and its type follows the resolved value (as in
Metaflow); a callable default is kept to be called once per run (``runtime.dynamic_defaults``).
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from ..authoring.configs import resolve_lazy
from ..authoring.flowspec import RESERVED_NAMES
from ..authoring.parameters import builtins_type
from ..errors import Problem
from . import model
from .parse import ParsedFlow, collect_parameters


def parameter_specs(cls: type, parsed: ParsedFlow,
                configs: Mapping[str, Any]) -> tuple[list[model.ParameterSpec], list[Problem]]:
    flow = parsed.name
    specs, problems, seen = [], [], {}
    for attr, param in collect_parameters(cls):
        def bad(code: str, message: str, fix: str | None = None) -> None:
            problems.append(Problem(code, flow, f"Parameter {param.name!r} (attribute {attr!r}): "
                                    + message, file=parsed.file, fix=fix))
        if attr in RESERVED_NAMES or param.name in RESERVED_NAMES:
            bad("parameter-reserved-name", "the name is reserved by FlowSpec.", "rename it.")
        if attr in parsed.steps or param.name in parsed.steps:
            bad("parameter-shadows-step", "a step has the same name.", "rename the Parameter.")
        if param.name in seen:
            bad("parameter-duplicate-name", f"attribute {seen[param.name]!r} uses the same name.")
        seen[param.name] = attr
        if not param.name or not param.name.replace("-", "_").isidentifier():
            bad("parameter-bad-name", "names must be letters, digits, '_' or '-'.")
        if param.required and param.has_default:
            bad("parameter-required-with-default", "a required Parameter cannot have a default.",
                "drop required=True or the default.")
        if param.unknown_kwargs:
            bad("parameter-unknown-argument", f"unknown argument(s) {sorted(param.unknown_kwargs)}.")
        if param.type_name not in ("str", "int", "float", "bool", "JSON", "file"):
            bad("parameter-bad-type", f"type {param.type_name} is not supported.",
                "use str, int, float, bool or JSONType (or IncludeFile for a file's contents).")
        default, default_fn = None, None
        try:
            default = resolve_lazy(param.default, configs)  # config_expr("cfg.x"), cfg.x
            if default is not param.default and not param.type_given and default is not None:
                param = copy.copy(param)  # the type follows the resolved default, as in Metaflow
                param.type = builtins_type(default)
            if callable(default) and not isinstance(default, type):
                # Metaflow's deploy-time default: called once per run, when the run starts.
                default, default_fn = None, default
            elif default is not None and param.type_name != "JSON":
                default = param.convert(default, flow)
            elif param.type_name == "JSON" and isinstance(default, str):
                param.convert(default, flow)
        except Exception as exc:  # noqa: BLE001 - any failure of a user default is a problem
            bad("parameter-bad-default", f"its default {param.default!r} does not fit: {exc}")
        if param.type_name == "file" and default is not None:
            default = _beside_flow_file(str(default), parsed.file)
        specs.append(model.ParameterSpec(attr, param.name, param.type_name, default,
                                         param.has_default, param.required, param.help,
                                         getattr(param, "is_text", True),
                                         getattr(param, "encoding", "utf-8"), default_fn))
    return specs, problems


def _beside_flow_file(path: str, flow_file: str | None) -> str:
    """An IncludeFile default relative to the flow file, made absolute, so the flow runs from
    any working directory (a path that is not there is left for the run to resolve)."""
    import os

    if os.path.isabs(path) or not flow_file:
        return path
    candidate = os.path.join(os.path.dirname(os.path.abspath(flow_file)), path)
    return candidate if os.path.exists(candidate) else path

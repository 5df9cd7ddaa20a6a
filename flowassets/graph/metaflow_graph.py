"""Real ``metaflow.FlowSpec`` classes as a second front end into the same flow model.

A Metaflow flow file uses the same syntax as ours, so its structure is read from source by the
same parser and checked by the same rules (``build``). Only two things differ and are
translated here: Metaflow's ``Parameter`` objects (turned into ours, so defaults and types are
checked the same way) and Metaflow's decorator objects (read by ``authoring.decorators``).
Nothing here imports metaflow: the class in hand already carries everything.
"""

from __future__ import annotations

from typing import Any

from ..authoring.parameters import IncludeFile, JSONType, Parameter
from . import build, model


def graph_from_metaflow(cls: type, with_decorators: tuple = ()) -> model.FlowGraph:
    """Parse and validate a Metaflow flow class (processed by ``prepare_metaflow_class`` when it
    has Configs or mutators); raises like ``build_graph``. ``with_decorators``: parsed
    ``--with`` specs, added to every step as for our own flows."""
    holder = type(cls.__name__, (), dict(metaflow_parameters(cls)))
    return build._build(cls, parameter_holder=holder, extra={"front_end": "metaflow"},
                        configs=metaflow_config_specs(cls), with_decorators=with_decorators)


def metaflow_config_specs(cls: type) -> tuple[model.ConfigSpec, ...]:
    """The class's Configs with the values it was processed with."""
    values = getattr(cls, "_flowassets_config_values", None) or {}
    if not values:
        return ()
    return tuple(model.ConfigSpec(var, p.name, values.get(p.name), bool(p.kwargs.get("plain")),
                                  p.kwargs.get("help"))
                 for var, p in cls._get_parameters() if p.IS_CONFIG_PARAMETER)


def metaflow_parameters(cls: type) -> list[tuple[str, Parameter]]:
    """Each Metaflow ``Parameter`` of the class as one of ours (same name, default, type)."""
    found: dict[str, Parameter] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if _is_metaflow_parameter(value):
                found[attr] = _convert(attr, value)
    return list(found.items())


def _is_metaflow_parameter(value: Any) -> bool:
    if getattr(value, "IS_CONFIG_PARAMETER", False):
        return False  # a Config: its value is fixed before the run (graph.configs)
    return any(k.__module__ == "metaflow.parameters" and k.__name__ == "Parameter"
               for k in type(value).__mro__)


def _convert(attr: str, param: Any) -> Parameter:
    if "type" in param.kwargs:
        # Initialized by Metaflow (prepare_metaflow_class): config expressions resolved, a
        # callable default wrapped in a DeployTimeField, the separator taken out.
        given = {k: v for k, v in param.kwargs.items() if v is not None}
        if getattr(param, "separator", None):
            given["separator"] = param.separator
        if type(given.get("default")).__name__ == "DeployTimeField":
            wrapped = given["default"]
            # IncludeFile.init() wraps its default path for upload: the path the user wrote is
            # kept as the field's representation. Other Parameters wrap their callable default.
            is_file = type(given.get("type")).__name__ == "FilePathClass"
            given["default"] = wrapped.user_print_representation if is_file else wrapped.fun
    else:
        given = {k: v for k, v in {**param.kwargs, **param._override_kwargs}.items()
                 if v is not None}
    kind = given.pop("type", None)
    if kind is not None and type(kind).__name__ == "FilePathClass":
        known = {k: given.pop(k) for k in ("default", "help", "required") if k in given}
        overrides = getattr(param, "_includefile_overrides", {})
        included = IncludeFile(param.name, is_text=overrides.get("is_text", given.pop("is_text", True)),
                               encoding=overrides.get("encoding", given.pop("encoding", "utf-8")),
                               **known, **given)  # a `parser` stays unknown: refused by build
        included.__set_name__(None, attr)  # type: ignore[arg-type]
        return included
    if kind is not None and type(kind).__name__ == "JSONTypeClass":
        kind = JSONType
    known = {k: given.pop(k) for k in ("default", "help", "required", "show_default", "separator")
             if k in given}
    converted = Parameter(param.name, type=kind, **known, **given)
    converted.__set_name__(None, attr)  # type: ignore[arg-type]
    return converted

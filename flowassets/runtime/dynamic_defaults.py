"""Callable Parameter defaults (Metaflow's deploy-time defaults), called once per run.

Metaflow calls ``default(ctx)`` in its CLI process when the run starts, with a
``ParameterContext`` (flow and user name, parameter name, a logger, the datastore type and the
run's configs), ``current.project_name`` and friends already set. Here the start op calls it,
before the start task, with the same context; an unchanged Metaflow file gets Metaflow's own
``ParameterContext`` and ``ConfigValue`` and Metaflow's ``current`` with its @project names.
"""

from __future__ import annotations

from typing import Any

from ..errors import ParameterError
from ..graph import model


def call_default(graph: model.FlowGraph, spec: model.ParameterSpec, flow_cls: type | None,
                 ds_type: str) -> Any:
    """The default's value for this run, or a ParameterError naming flow and parameter."""
    from ..graph.configs import parameter_context
    from . import metaflow_adapter

    configs = graph.config_values()
    ctx: Any = parameter_context(graph.flow_name, spec.name, configs, ds_type)
    if flow_cls is not None and metaflow_adapter.is_metaflow_class(flow_cls):
        ctx = metaflow_adapter.parameter_context(flow_cls, ctx, graph.flow_decorators)
    try:
        value = spec.default_fn(ctx)
    except Exception as exc:  # noqa: BLE001 - the user's function
        raise ParameterError(
            f"flow {graph.flow_name}: Parameter {spec.name!r}: its default function "
            f"{getattr(spec.default_fn, '__name__', spec.default_fn)!r} failed: "
            f"{type(exc).__name__}: {exc}") from None
    if spec.type_name in ("str", "JSON", "file") and value is not None and not isinstance(value, str):
        if spec.type_name != "JSON":
            raise ParameterError(
                f"flow {graph.flow_name}: Parameter {spec.name!r}: its default function returned "
                f"{type(value).__name__} {value!r}, the Parameter is {spec.type_name}; return a "
                "string or declare type=.")
    return value

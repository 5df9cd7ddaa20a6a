"""Real ``metaflow.FlowSpec`` classes as a second front end into the same flow model.

A Metaflow flow file uses the same syntax as ours, so its structure is read from source by the
same parser and checked by the same rules (``build``). Only two things differ and are
translated here: Metaflow's ``Parameter`` objects (turned into ours, so defaults and types are
checked the same way) and Metaflow's decorator objects (read by ``authoring.decorators``).
Nothing here imports metaflow: the class in hand already carries everything.
"""

from __future__ import annotations

from typing import Any

from ..authoring.decorators import flow_decorators, step_decorators
from ..authoring.parameters import JSONType, Parameter
from ..errors import DecoratorError, GraphError
from . import build, model
from .parse import parse_flow


def graph_from_metaflow(cls: type) -> model.FlowGraph:
    """Parse and validate a Metaflow flow class; raises like ``build_graph``."""
    parsed = parse_flow(cls)
    problems = list(parsed.problems)
    for step in parsed.steps.values():
        problems.extend(step.problems)
    holder = type(cls.__name__, (), dict(metaflow_parameters(cls)))
    params, param_problems = build._parameters(holder, parsed)
    problems.extend(param_problems)
    structural = build._check_structure(parsed, {p.attr_name for p in params})
    problems.extend(structural)
    nodes: dict[str, model.StepNode] = {}
    order: tuple[str, ...] = ()
    if not structural and not any(p.code in build._FATAL_PARSE for p in problems):
        order = build._topological(parsed, problems)
        if order:
            nodes = build._analyse(parsed, order, problems)
    from ..compute.spec import check_flow_decorators, check_step_decorators

    for step in parsed.steps.values():
        problems.extend(check_step_decorators(parsed.name, step.name, step_decorators(step.func),
                                              step.file, nodes.get(step.name)))
    problems.extend(check_flow_decorators(parsed.name, flow_decorators(cls), parsed.file))
    if problems:
        graph_codes = {p.code for p in problems if not p.code.startswith("decorator")}
        raise (GraphError if graph_codes else DecoratorError)(build._dedupe(problems))
    return model.FlowGraph(
        flow_name=parsed.name, steps=nodes, order=order, parameters=tuple(params),
        flow_decorators=flow_decorators(cls), doc=build._doc(cls), file=parsed.file,
        extra={"front_end": "metaflow"},
    )


def metaflow_parameters(cls: type) -> list[tuple[str, Parameter]]:
    """Each Metaflow ``Parameter`` of the class as one of ours (same name, default, type)."""
    found: dict[str, Parameter] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if _is_metaflow_parameter(value):
                found[attr] = _convert(attr, value)
    return list(found.items())


def _is_metaflow_parameter(value: Any) -> bool:
    return any(k.__module__ == "metaflow.parameters" and k.__name__ == "Parameter"
               for k in type(value).__mro__)


def _convert(attr: str, param: Any) -> Parameter:
    given = {k: v for k, v in {**param.kwargs, **param._override_kwargs}.items() if v is not None}
    kind = given.pop("type", None)
    if kind is not None and type(kind).__name__ == "JSONTypeClass":
        kind = JSONType
    known = {k: given.pop(k) for k in ("default", "help", "required", "show_default", "separator")
             if k in given}
    converted = Parameter(param.name, type=kind, **known, **given)
    converted.__set_name__(None, attr)  # type: ignore[arg-type]
    return converted

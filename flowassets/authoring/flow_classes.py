"""What counts as a flow class: flowassets' own FlowSpec subclasses and unchanged Metaflow ones.

It lives with authoring because loading a flow file (authoring.loader) must recognise flows
without reaching up into the graph builder; metaflow is never imported here, only recognised by
the module its FlowSpec comes from.
"""

from __future__ import annotations

from typing import Any

from .flowspec import FlowSpec


def is_metaflow_class(cls: type) -> bool:
    return any(k.__module__ == "metaflow.flowspec" for k in cls.__mro__)


def flow_class_of(obj: Any) -> Any:
    """The flow class under a Metaflow FlowMutator applied bare (``@MyMutator class F``), which
    leaves the mutator object in the module under the class's name; anything else unchanged."""
    inner = getattr(obj, "_flow_cls", None) if not isinstance(obj, type) else None
    return inner if isinstance(inner, type) else obj


def is_flow_class(obj: Any) -> bool:
    if not isinstance(obj, type):
        return False
    if issubclass(obj, FlowSpec) and obj is not FlowSpec:
        return True
    return is_metaflow_class(obj) and obj.__name__ != "FlowSpec"

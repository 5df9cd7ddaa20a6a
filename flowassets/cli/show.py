"""``flowassets show`` and ``check``: a flow's graph, Parameters, configs and partitions, read
from its file without Dagster (imported only for a @partitioned flow)."""

from __future__ import annotations

from typing import Any


def _partitioning(graph: Any) -> Any:
    """A @partitioned flow's partitions, checked against its Parameters as building its job
    does (Dagster is imported only for such a flow)."""
    if not any(d.name == "partitioned" for d in graph.flow_decorators):
        return None
    from ..translate.translator import FlowTranslator

    return FlowTranslator().get_partitioning(graph)


def show(graph: Any, check_only: bool) -> int:
    """``flowassets show`` (the graph with docstrings) and ``check`` (only that it builds)."""
    partitioning = _partitioning(graph)
    if check_only:
        print(f"{graph.flow_name}: OK ({len(graph.order)} steps)")
        return 0
    print(f"{graph.flow_name}" + (f": {graph.doc}" if graph.doc else ""))
    if partitioning is not None:
        print(f"  partitioned by --{partitioning.parameter.name}: {partitioning.partitions_def}")
    for config in graph.configs:
        print(f"  config {config.name} = {config.value!r}" + (f": {config.help}" if config.help else ""))
    for param in graph.parameters:
        default = (f"computed by {getattr(param.default_fn, '__name__', 'a function')} when the run "
                   "starts" if param.default_fn is not None else repr(param.default))
        print(f"  parameter --{param.name} ({param.type_name}, default {default})"
              + (f": {param.help}" if param.help else ""))
    print()
    for node in graph:
        arrow = ""
        if node.foreach_var:
            arrow = f" => foreach {node.foreach_var}: {node.out[0]}"
        elif node.switch_cases:
            arrow = f" => switch on {node.condition_var}: " + ", ".join(
                f"{k} -> {v}" for k, v in node.switch_cases.items())
            if node.is_loop:
                arrow += " (a loop: its passes run inside one op)"
        elif node.out:
            arrow = " => " + ", ".join(node.out)
        print(f"Step {node.name} ({node.kind}){arrow}")
        if node.doc:
            print("    " + node.doc.replace("\n", "\n    "))
    return 0

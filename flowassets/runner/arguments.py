"""Keyword arguments of ``Runner.run(...)``/``resume(...)`` as a ``flowassets`` command line.

Everything is checked here, in the caller's process, before a subprocess starts: an unknown
name, a value that does not fit its Parameter's type, a missing required Parameter or included
file is refused naming the flow and the parameter, as ``flowassets run`` would refuse it, but
without a run or a process to clean up.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import FlowassetsError, ParameterError
from ..graph import model


@dataclass(frozen=True)
class Option:
    """One option of ``flowassets run``/``resume`` that the Runner takes as a keyword."""

    flag: str
    kind: str  # "int" (a positive number), "str", "list" (repeated flag), "flag" (no value)
    choices: tuple[str, ...] = ()


#: Before the command in Metaflow (``Runner(file, datastore="s3")``): given to every ``run``
#: (a resumed run keeps its origin's). ``pylint`` is accepted and ignored: flowassets has no
#: lint pass to skip.
TOP_LEVEL_OPTIONS: Mapping[str, Option] = {
    "flow": Option("--flow", "str"),
    "datastore": Option("--datastore", "str", ("local", "s3", "gs", "azure")),
    "decospecs": Option("--with", "list"),
    "quiet": Option("--quiet", "flag"),
    "pylint": Option("", "ignored"),
}
RUN_OPTIONS: Mapping[str, Option] = {
    "tags": Option("--tag", "list"),
    "max_workers": Option("--max-workers", "int"),
    "max_num_splits": Option("--max-num-splits", "int"),
    "max_loop_iterations": Option("--max-loop-iterations", "int"),
    "datastore": TOP_LEVEL_OPTIONS["datastore"],
    "decospecs": TOP_LEVEL_OPTIONS["decospecs"],
    "quiet": TOP_LEVEL_OPTIONS["quiet"],
}
#: ``resume``'s step is positional, named as in Metaflow's Runner.
RESUME_OPTIONS: Mapping[str, Option] = {
    "origin_run_id": Option("--origin-run-id", "str"),
    "step_to_rerun": Option("", "str"),
    "tags": RUN_OPTIONS["tags"],
    "max_loop_iterations": RUN_OPTIONS["max_loop_iterations"],
    "decospecs": RUN_OPTIONS["decospecs"],  # Metaflow's resume takes --with too
}


def option_arguments(flow: str, given: Mapping[str, Any], known: Mapping[str, Option],
                     what: str) -> list[str]:
    """``given`` as command-line arguments; a name not in ``known`` is refused."""
    args: list[str] = []
    for name, value in given.items():
        option = known.get(name)
        if option is None:
            raise FlowassetsError(f"flow {flow}: {what} takes no option {name!r}; it takes "
                                  f"{', '.join(sorted(known))}.")
        if value is None or option.kind == "ignored":
            continue
        args += _option(flow, name, option, value)
    return args


def _option(flow: str, name: str, option: Option, value: Any) -> list[str]:
    def refuse(expected: str) -> FlowassetsError:
        return FlowassetsError(f"flow {flow}: option {name!r} expects {expected}, got {value!r}.")

    if option.kind == "flag":
        if not isinstance(value, bool):
            raise refuse("True or False")
        return [option.flag] if value else []
    if option.kind == "list":
        items = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(item, str) for item in items):
            raise refuse("a list of strings")
        if option.flag == "--with":  # a name flowassets has no decorator for: refused here
            from ..authoring.decospecs import parse_decospecs

            parse_decospecs(items, flow)
        return [part for item in items for part in (option.flag, item)]
    if option.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise refuse("a positive integer")
        return [option.flag, str(value)]
    if option.choices and value not in option.choices:
        raise refuse(f"one of {', '.join(option.choices)}")
    return [option.flag, str(value)] if option.flag else [str(value)]


def parameter_arguments(graph: model.FlowGraph, given: Mapping[str, Any], cwd: str,
                        env: Mapping[str, str]) -> list[str]:
    """Flow parameters as ``--name VALUE``, each converted as ``flowassets run`` converts it.

    A keyword names a parameter as Metaflow's Runner does: its name with ``-`` as ``_``."""
    by_keyword = {p.name.replace("-", "_"): p for p in graph.parameters}
    args: list[str] = []
    for keyword, value in given.items():
        param = by_keyword.get(keyword)
        if param is None:
            names = ", ".join(sorted(by_keyword)) or "none"
            options = ", ".join(sorted(set(RUN_OPTIONS) | set(TOP_LEVEL_OPTIONS) - {"flow"}))
            raise ParameterError(f"flow {graph.flow_name}: no Parameter {keyword!r}; its parameters "
                                 f"are: {names} (run options: {options}).")
        # One argument, so a value that starts with "-" stays a value.
        args.append(f"--{param.name}={_checked_value(graph, param, value, cwd)}")
    for param in graph.parameters:
        keyword = param.name.replace("-", "_")
        from_env = env.get("METAFLOW_RUN_" + param.name.upper().replace("-", "_"))
        if keyword in given or from_env is not None:
            continue
        if param.required and param.default is None:
            raise ParameterError(f"flow {graph.flow_name}: Parameter {param.name!r} is required: "
                                 f"pass {keyword}=VALUE.")
        if param.type_name == "file" and param.default is not None:
            _read_file(graph, param, os.path.join(cwd, str(param.default)))
    return args


def _checked_value(graph: model.FlowGraph, param: model.ParameterSpec, value: Any, cwd: str) -> str:
    """The value as ``flowassets run`` reads it, after checking it converts to the type."""
    from ..authoring.parameters import JSONType, Parameter

    if param.type_name == "file":
        # The subprocess runs in ``cwd``: a relative path is relative to it, as on its command line.
        path = os.path.join(cwd, os.fspath(value))
        _read_file(graph, param, path)
        return os.path.abspath(path)
    if param.type_name == "JSON":
        text = value if isinstance(value, str) else json.dumps(value)
    elif param.type_name == "bool" and isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    kinds: dict[str, Callable[..., Any]] = {"str": str, "int": int, "float": float, "bool": bool}
    kind: Any = JSONType if param.type_name == "JSON" else kinds.get(param.type_name, str)
    Parameter(param.name, type=kind).convert(text, graph.flow_name)
    return text


def _read_file(graph: model.FlowGraph, param: model.ParameterSpec, path: str) -> None:
    from ..authoring.parameters import read_included_file

    read_included_file(path, param.is_text, param.encoding, graph.flow_name, param.name)


def split_keywords(given: Mapping[str, Any], options: Mapping[str, Option]) -> tuple[dict, dict]:
    """(run options, flow parameters): an option's name wins, as on ``flowassets run``'s command
    line, where ``--max-workers`` is the command's before it can be a parameter's."""
    chosen = {k: v for k, v in given.items() if k in options}
    rest = {k: v for k, v in given.items() if k not in options}
    return chosen, rest


__all__ = ["Option", "RESUME_OPTIONS", "RUN_OPTIONS", "TOP_LEVEL_OPTIONS", "option_arguments",
           "parameter_arguments", "split_keywords"]

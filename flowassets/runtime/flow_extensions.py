"""Flow decorators from Metaflow extension packages, run in each task as Metaflow runs them.

Metaflow's CLI turns a flow decorator's ``options`` into top-level options (``--foobar``, also
read from ``METAFLOW_FLOW_FOOBAR`` and, by click's METAFLOW prefix, ``METAFLOW_FOOBAR``) and
calls its ``flow_init`` before anything runs, in the launching process and again in every task
process (Metaflow's ``step`` command starts the same way). flowassets does the task half: before
the step body, each such decorator's options are resolved with Metaflow's own click from the
same variables (``flowassets run --foobar`` sets ``METAFLOW_FLOW_FOOBAR`` for the run's
processes) and its ``flow_init`` is called. Build refuses a decorator overriding any other hook
(``graph/decorator_checks/steps_and_flow.py``). Reached only for a Metaflow flow, so metaflow is
imported lazily.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

from ..authoring.decorators import DecoratorSpec


def option_variable(option: str) -> str:
    """The variable Metaflow's CLI reads an option of a flow decorator from (decorators.py:
    ``add_decorator_options``); the CLI sets it for ``flowassets run --OPTION VALUE``."""
    return "METAFLOW_FLOW_%s" % option.upper()


def init_flow_decorators(flow: Any, specs: Iterable[DecoratorSpec]) -> None:
    """Metaflow's ``_init_flow_decorators`` for the extension decorators in ``specs``.

    ``flow_init`` gets the flow object and Metaflow's graph of the class; flowassets has no
    Metaflow environment, datastore or metadata provider object in a task (its store and the
    Dagster instance stand in for them), so those arguments are None."""
    names = {s.name for s in specs if s.extension}
    if not names:
        return
    from metaflow.flowspec import FlowStateItems

    found = flow._flow_state[FlowStateItems.FLOW_DECORATORS]
    for name, decorators in found.items():
        if name not in names or not decorators:
            continue
        for deco in decorators:
            deco.external_init()
        # As Metaflow: a decorator allowed several times has no options.
        options = {} if decorators[0].allow_multiple else resolve_options(decorators[0].options)
        for deco in decorators:
            deco.flow_init(flow, flow._graph, None, None, None, metaflow_logger, _echo, options)


def task_variables(flow_cls: type, specs: Iterable[DecoratorSpec],
                   words: list[str]) -> dict[str, str]:
    """What Metaflow's launching process hands its task processes, as variables: each
    extension decorator's ``flow_init`` runs with its options from ``words`` (``--greeting
    hi``, the run's command line) and Metaflow's variables, then its ``get_top_level_options``
    names the options the tasks get (Metaflow passes them on each task's command line; an
    option it does not list reaches the tasks only through the environment)."""
    names = {s.name for s in specs if s.extension}
    if not names:
        return {}
    from metaflow.flowspec import FlowStateItems

    flow = flow_cls(use_cli=False)
    found = flow._flow_state[FlowStateItems.FLOW_DECORATORS]
    handed: dict[str, str] = {}
    for name, decorators in found.items():
        if name not in names or not decorators:
            continue
        for deco in decorators:
            deco.external_init()
        options = {} if decorators[0].allow_multiple else resolve_options(decorators[0].options,
                                                                          words)
        for deco in decorators:
            deco.flow_init(flow, flow._graph, None, None, None, metaflow_logger, _echo, options)
            for option, value in deco.get_top_level_options():
                if value is not None:
                    handed[option_variable(option)] = _as_word(value)
    return handed


def _as_word(value: Any) -> str:
    """A top-level option's value as click reads it back from a variable."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_options(options: dict[str, dict[str, Any]], words: list[str] = ()) -> dict[str, Any]:
    """Each option's value as Metaflow's click resolves it: from ``words`` (``--OPTION VALUE``),
    else ``METAFLOW_FLOW_<OPTION>``, else ``METAFLOW_<OPTION>``, else the default (typed by
    the option's own click settings). Words naming other options are left to their owner."""
    from metaflow._vendor import click

    params = [click.Option(("--" + option,), **{**kwargs, "envvar": option_variable(option)})
              for option, kwargs in options.items()]
    mine = _words_for(list(words), options)
    ctx = click.Command("flow", params=params).make_context("flow", mine,
                                                            auto_envvar_prefix="METAFLOW")
    return {option: ctx.params.get(option.replace("-", "_"), info.get("default"))
            for option, info in options.items()}


def _words_for(words: list[str], options: dict[str, Any]) -> list[str]:
    """The ``--OPTION VALUE`` pairs (or ``--OPTION=VALUE``) of ``words`` that name ``options``."""
    mine, i = [], 0
    while i < len(words):
        name = words[i][2:].split("=", 1)[0] if words[i].startswith("--") else None
        if name in options:
            takes_value = "=" not in words[i] and not options[name].get("is_flag")
            mine += words[i:i + 1 + takes_value]
            i += 1 + takes_value
        else:
            i += 1
    return mine


def metaflow_logger(body: str = "", system_msg: bool = False, head: str = "", bad: bool = False,
            timestamp: bool = True, pid: Any = None) -> None:
    """Metaflow's logger signature, writing to the task's stderr."""
    print(f"{head}{body}", file=sys.stderr)


def _echo(line: str = "", *args: Any, err: bool = False, **kwargs: Any) -> None:
    """Metaflow's echo signature, writing to the task's stdout (stderr with ``err``)."""
    print(line, file=sys.stderr if err else sys.stdout)

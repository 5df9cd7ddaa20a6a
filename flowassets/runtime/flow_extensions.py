"""Flow decorators from Metaflow extension packages, run in each task as Metaflow runs them.

Metaflow's CLI turns a flow decorator's ``options`` into top-level options (``--foobar``, also
read from ``METAFLOW_FLOW_FOOBAR`` and, by click's METAFLOW prefix, ``METAFLOW_FOOBAR``) and
calls its ``flow_init`` before anything runs, in the launching process and again in every task
process (Metaflow's ``step`` command starts the same way). flowassets does the task half: before
the step body, each such decorator's options are resolved with Metaflow's own click from the
same variables (``flowassets run --foobar`` sets ``METAFLOW_FLOW_FOOBAR`` for the run's
processes) and its ``flow_init`` is called. Build refuses a decorator overriding any other hook
(``compute.spec``). Reached only for a Metaflow flow, so metaflow is imported lazily.
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
            deco.flow_init(flow, flow._graph, None, None, None, _logger, _echo, options)


def resolve_options(options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each option's value as Metaflow's click resolves it with no words on the command line:
    ``METAFLOW_FLOW_<OPTION>``, else ``METAFLOW_<OPTION>``, else the default (typed by the
    option's own click settings)."""
    from metaflow._vendor import click

    params = [click.Option(("--" + option,), **{**kwargs, "envvar": option_variable(option)})
              for option, kwargs in options.items()]
    ctx = click.Command("flow", params=params).make_context("flow", [],
                                                            auto_envvar_prefix="METAFLOW")
    return {option: ctx.params.get(option.replace("-", "_"), info.get("default"))
            for option, info in options.items()}


def _logger(body: str = "", system_msg: bool = False, head: str = "", bad: bool = False,
            timestamp: bool = True, pid: Any = None) -> None:
    """Metaflow's logger signature, writing to the task's stderr."""
    print(f"{head}{body}", file=sys.stderr)


def _echo(line: str = "", *args: Any, err: bool = False, **kwargs: Any) -> None:
    """Metaflow's echo signature, writing to the task's stdout (stderr with ``err``)."""
    print(line, file=sys.stderr if err else sys.stdout)

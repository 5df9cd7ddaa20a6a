"""``Runner``: start a flow from Python, blocking or async, as Metaflow's ``metaflow.Runner``.

    from flowassets import Runner
    with Runner("flow.py").run(alpha=5) as running:
        print(running.status, running.run.data.total)

Each run is exactly a command-line run: the Runner starts ``flowassets run FILE --flow NAME
--alpha=5 --run-id-file ...`` as a subprocess (in ``cwd``, with ``env``) and reads the run id it
writes as soon as the run exists. Before starting anything it imports the flow file here and
checks the flow (``build_graph``), every keyword's name and every value, so a misspelt
parameter is refused in the caller's process, naming the flow and the parameter. It works the
same for flowassets' own flow files and unchanged ``from metaflow import ...`` files.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import FlowassetsError
from ..graph import model
from .arguments import (
    RESUME_OPTIONS, RUN_OPTIONS, TOP_LEVEL_OPTIONS, option_arguments, parameter_arguments,
    split_keywords,
)
from .process import CommandProcess, ExecutingRun


class Runner:
    """Runs of one flow file, each in a ``flowassets`` subprocess.

    ``show_output``: echo the subprocess's output here during the blocking ``run``/``resume``
    (in a notebook: into the cell's output). ``env``: variables added to this process's for the
    subprocess (e.g. ``DAGSTER_HOME``, ``FLOWASSETS_DATASTORE``). ``cwd``: the subprocess's
    working directory. ``file_read_timeout``: seconds to wait for the run to be created.
    Other keywords are options of every run: ``flow`` (the class, when the file has several),
    ``datastore``, ``decospecs`` (``--with``), ``quiet``; ``pylint`` is ignored."""

    def __init__(self, flow_file: str, show_output: bool = True, env: dict[str, str] | None = None,
                 cwd: str | None = None, file_read_timeout: float = 3600, **kwargs: Any):
        self.flow_file = os.path.abspath(flow_file)
        self.show_output = show_output
        self.env = {**os.environ, **(env or {})}
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.file_read_timeout = file_read_timeout
        files, texts = config_sources(kwargs.pop("config", None), kwargs.pop("config_value", None),
                                      self.cwd)
        self.graph: model.FlowGraph = load_graph(self.flow_file, kwargs.get("flow"), files, texts,
                                                 self.env)
        given = {k: v for k, v in kwargs.items() if k != "flow"}
        self.top_level_arguments = option_arguments(self.graph.flow_name, given, TOP_LEVEL_OPTIONS,
                                                    "Runner")
        for name, path in files.items():
            self.top_level_arguments += ["--config", name, path]
        for name, text in texts.items():
            self.top_level_arguments += ["--config-value", name, text]
        self._commands: list[CommandProcess] = []
        self._instance: Any = None

    # -- blocking ---------------------------------------------------------------------------
    def run(self, **kwargs: Any) -> ExecutingRun:
        """Run the flow to its end; keywords are its parameters and run options (``tags``,
        ``max_workers``, ``max_num_splits``, ``max_loop_iterations``, ``datastore``, ``decospecs``,
        ``quiet``)."""
        command = self._start("run", self._run_arguments(kwargs))
        command.wait(self.show_output)
        return self._executing(command)

    def resume(self, **kwargs: Any) -> ExecutingRun:
        """Resume the flow's latest run, or ``origin_run_id``, from its failed step or from
        ``step_to_rerun``; ``tags`` tag the new run."""
        command = self._start("resume", self._resume_arguments(kwargs))
        command.wait(self.show_output)
        return self._executing(command)

    # -- async: return once the run exists -------------------------------------------------
    async def async_run(self, **kwargs: Any) -> ExecutingRun:
        """Start a run and return as soon as it exists; ``await running.wait()`` for its end."""
        command = self._start("run", self._run_arguments(kwargs))
        await command.async_wait_for_run_id(self.graph.flow_name, self.file_read_timeout)
        return self._executing(command)

    async def async_resume(self, **kwargs: Any) -> ExecutingRun:
        command = self._start("resume", self._resume_arguments(kwargs))
        await command.async_wait_for_run_id(self.graph.flow_name, self.file_read_timeout)
        return self._executing(command)

    # -- context manager and cleanup ------------------------------------------------------
    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()

    async def __aenter__(self) -> "Runner":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the subprocesses' log files (runs and artifacts stay in the instance)."""
        for command in self._commands:
            command.cleanup()

    # -- internals -------------------------------------------------------------------------
    def _run_arguments(self, kwargs: dict[str, Any]) -> list[str]:
        flow = self.graph.flow_name
        options, parameters = split_keywords(kwargs, RUN_OPTIONS)
        return [*self.top_level_arguments, *option_arguments(flow, options, RUN_OPTIONS, "run"),
                *parameter_arguments(self.graph, parameters, self.cwd, self.env)]

    def _resume_arguments(self, kwargs: dict[str, Any]) -> list[str]:
        """A resumed run takes its origin's parameters and store: only these options."""
        step = kwargs.get("step_to_rerun")
        if step is not None and step not in self.graph.steps:
            from ..errors import FlowassetsError

            raise FlowassetsError(f"flow {self.graph.flow_name}: cannot resume from unknown step "
                                  f"{step!r}; its steps are {', '.join(self.graph.order)}.")
        options = {k: v for k, v in kwargs.items() if k != "step_to_rerun"}
        arguments = option_arguments(self.graph.flow_name, options, RESUME_OPTIONS, "resume")
        # The Runner's own decospecs (before the command in Metaflow) apply to resume too.
        top = self.top_level_arguments
        arguments += [w for i in range(len(top) - 1) if top[i] == "--with" for w in top[i:i + 2]]
        return ([step] if step is not None else []) + arguments  # the positional comes first

    def _start(self, verb: str, arguments: list[str]) -> CommandProcess:
        argv = [sys.executable, "-m", "flowassets.cli.main", verb, self.flow_file, *arguments,
                "--flow", self.graph.flow_name]
        command = CommandProcess(verb, argv, self.env, self.cwd)
        self._commands.append(command)
        return command

    def _executing(self, command: CommandProcess) -> ExecutingRun:
        from ..client import Flow

        run_id = command.run_id_or_raise(self.graph.flow_name)
        if self._instance is None:
            self._instance = instance_for(self.env, self.cwd)
        return ExecutingRun(self, command, Flow(self.graph.flow_name, self._instance)[run_id])


def config_sources(config: Any, config_value: Any, cwd: str) -> tuple[dict[str, str], dict[str, str]]:
    """Metaflow's Runner options ``config=[(name, file)]`` and ``config_value=[(name, value)]``
    (a value that is not text is written as JSON, as Metaflow's Runner does)."""
    import json

    def pairs(given: Any, what: str) -> list[tuple[str, Any]]:
        items = list((given or {}).items()) if isinstance(given, dict) else list(given or [])
        if not all(isinstance(i, (tuple, list)) and len(i) == 2 for i in items):
            raise FlowassetsError(f"Runner option {what!r} takes (name, value) pairs, got {given!r}")
        return [(str(k), v) for k, v in items]

    files = {k: os.path.join(cwd, str(v)) for k, v in pairs(config, "config")}
    texts = {k: v if isinstance(v, str) else json.dumps(v) for k, v in pairs(config_value, "config_value")}
    return files, texts


def load_graph(flow_file: str, flow: str | None, files: dict[str, str] | None = None,
               texts: dict[str, str] | None = None,
               environ: dict[str, str] | None = None) -> model.FlowGraph:
    """The flow as the subprocess will see it: the file imported afresh (it may have been
    edited since this process last imported it), built with the config values it will get
    (given, else Metaflow's variables in the run's environment, else defaults), then checked."""
    from ..authoring.loader import load_flow_class
    from ..graph.build import build_graph
    from ..graph.configs import resolve_config_values, sources_from_env

    cls = load_flow_class(flow_file, flow, fresh=True)
    env_files, env_texts = sources_from_env(environ)
    values = resolve_config_values(cls, files or env_files, texts or env_texts)
    return build_graph(cls, values)


def instance_for(env: dict[str, str], cwd: str) -> Any:
    """The Dagster instance the subprocess used: its ``DAGSTER_HOME``, else the project's own
    home under its working directory (``client.instance`` decides the same way)."""
    from ..client.instance import default_dagster_home, get_instance

    home = env.get("DAGSTER_HOME")
    home = os.path.join(cwd, home) if home else os.path.join(cwd, ".flowassets", "dagster_home")
    if os.path.abspath(home) == default_dagster_home():
        return get_instance(recover=False)
    from dagster import DagsterInstance

    return DagsterInstance.from_config(os.path.abspath(home))


__all__ = ["Runner", "instance_for", "load_graph"]

"""The ``flowassets`` command: ``run``, ``show``, ``check``, ``logs`` (Metaflow's verbs).

Heavy imports (Dagster) happen only inside the command that needs them, so ``--help`` and
``check`` stay fast.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Any, Sequence

from ..errors import FlowassetsError
from ..storage import run_tags


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowassets",
                                     description="Run Metaflow-style flows on Dagster.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a flow file end to end on the local Dagster instance")
    run.add_argument("flow_file")
    run.add_argument("--flow", help="flow class name when the file defines several")
    run.add_argument("--max-workers", type=int, default=16, help="parallel tasks (default 16)")
    run.add_argument("--max-num-splits", type=int, default=100,
                     help="fail a foreach wider than this (default 100)")
    run.add_argument("--max-loop-iterations", type=int, default=1000,
                     help="fail a loop (a switch looping back to its step) that makes more "
                     "passes than this (default 1000)")
    run.add_argument("--datastore", choices=["local", "s3", "gs", "azure"], default=None)
    run.add_argument("--with", dest="with_", action="append", default=[],
                     metavar="DECORATOR[:k=v,...]", help=_WITH_HELP)
    run.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")
    run.add_argument("--run-id-file", help="write the run id to this file")
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.add_argument("--assets", action="store_true",
                     help="run the flow's asset job (flow_to_assets): the asset catalog records "
                     "each artifact's materialization, as a run from the UI does")
    run.add_argument("--asset", action="append", default=[], metavar="ARTIFACT",
                     help="expose this artifact as an asset (repeatable; implies --assets; "
                     "default with --assets: every artifact)")
    _config_options(run)
    for name in ("show", "check"):
        cmd = sub.add_parser(name, help="print the flow's graph" if name == "show"
                             else "validate the flow without running it")
        cmd.add_argument("flow_file")
        cmd.add_argument("--flow")
        cmd.add_argument("--with", dest="with_", action="append", default=[],
                         metavar="DECORATOR[:k=v,...]", help=_WITH_HELP + " (checked with the flow)")
        _config_options(cmd)
    res = sub.add_parser("resume", help="re-run a failed run from the failed step (or STEP), "
                         "reusing the artifacts of the steps before it")
    res.add_argument("flow_file")
    res.add_argument("step", nargs="?", help="resume from this step (default: the failed one)")
    res.add_argument("--flow")
    res.add_argument("--origin-run-id", help="run to resume (default: the flow's latest run)")
    res.add_argument("--run-id-file")
    res.add_argument("--tag", action="append", default=[], help="tag the new run (repeatable)")
    res.add_argument("--max-loop-iterations", type=int, default=None,
                     help="a new bound for loops (default: the resumed run's)")
    res.add_argument("--with", dest="with_", action="append", default=[],
                     metavar="DECORATOR[:k=v,...]", help=_WITH_HELP)
    _config_options(res)
    sub.add_parser("recover", help="mark runs whose driving process on this machine is gone as "
                   "failed and delete their task pods (for cron; every command also does it)")
    logs = sub.add_parser("logs", help="print task output: FLOW/RUN_ID/STEP[/TASK], or "
                          "FLOW_FILE RUN_ID/STEP[/TASK] as Metaflow's `python flow.py logs`")
    logs.add_argument("target", nargs="+", metavar="[FLOW_FILE] PATHSPEC")
    logs.add_argument("--flow")
    shown = logs.add_mutually_exclusive_group()
    for stream in ("stdout", "stderr", "both"):
        shown.add_argument(f"--{stream}", dest="streams", action="store_const", const=stream,
                           help=f"show {'stdout and stderr (default)' if stream == 'both' else stream} "
                                "of the tasks, as Metaflow's `logs`")
    from . import cards, tags

    tags.add_parser(sub)
    cards.add_parser(sub)
    worker = sub.add_parser("worker", help="the warm worker that runs `run`, `resume` and "
                            "`logs` without importing Dagster each time (README: CLI)")
    worker.add_argument("action", choices=["status", "start", "stop"])
    return parser


_WITH_HELP = ("add a step decorator to every step that lacks it (repeatable), as Metaflow's "
              "--with: e.g. --with retry, --with catch:var=err, --with kubernetes:cpu=2,memory=8000")


def _config_options(cmd: argparse.ArgumentParser) -> None:
    # nargs="+": a flow may also have a Parameter named config (`--config VALUE`, one word);
    # _parameter_words hands such a one-word use to the flow's parameters.
    cmd.add_argument("--config", nargs="+", action="append", default=[], metavar=("NAME", "FILE"),
                     help="a Config's value from a file (repeatable; else METAFLOW_FLOW_CONFIG, a "
                     "JSON map of name -> file)")
    cmd.add_argument("--config-value", nargs="+", action="append", default=[],
                     metavar=("NAME", "JSON"), help="a Config's value as text (repeatable; else "
                     "METAFLOW_FLOW_CONFIG_VALUE, a JSON map of name -> value)")


def main(argv: Sequence[str] | None = None, *, exiting: bool | None = None) -> int:
    """``exiting``: the process ends when this returns (the console script, ``python flow.py
    run``); defaults to "no argv given". The console script (no argv) hands ``run``, ``resume``
    and ``logs`` to the warm worker when there is one (cli/worker: same output and status)."""
    global _PROCESS_ENDS
    if argv is None:
        from .worker.client import run_in_worker

        code = run_in_worker(sys.argv[1:])
        if code is not None:
            return code
    args, extra = _parser().parse_known_args(argv)
    _PROCESS_ENDS = argv is None if exiting is None else exiting
    if args.command in ("run", "resume"):
        # Importing Dagster makes ~170k long-lived tracked objects; collecting while they are made
        # costs ~0.15 s. launch/resume call gc_after_loading() once the job is ready.
        gc.disable()
    try:
        return _dispatch(args, extra)
    finally:
        gc.enable()
        if _PROCESS_ENDS:
            # Interpreter shutdown runs full collections over everything Dagster allocated
            # (~0.35 s measured, for nothing: the process is ending). Frozen objects are skipped.
            gc.freeze()


#: Set by ``main``: whether this process exits when the command is done. Only then may the
#: CLI freeze the collector's view of the heap; a host process calling main() keeps its own.
_PROCESS_ENDS = False


def gc_after_loading() -> None:
    """Everything loaded so far (Dagster, the instance, the job) lives as long as the process:
    freeze it out of the collector's sight and turn collection back on, before tasks fork
    (children inherit both: collection on, and parent objects they never scan or dirty)."""
    if _PROCESS_ENDS:
        gc.freeze()
    gc.enable()


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        if args.command == "run":
            return _run(args, extra)
        if args.command == "tag" and not any(e.startswith("-") for e in extra):
            args.tags, extra = [*args.tags, *extra], []  # TAGs after --run-id (Metaflow's order)
        if args.command == "card" and not any(e.startswith("-") for e in extra):
            args.words, extra = [*args.words, *extra], []  # FILE after the options (Metaflow's order)
        if extra:
            _parser().error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command in ("show", "check"):
            from .show import show

            return show(_load_with_configs(args)[1], check_only=args.command == "check")
        if args.command == "logs":
            from .logs import logs, logs_pathspec

            return logs(logs_pathspec(args.target, args.flow), args.streams or "both")
        if args.command == "resume":
            return _resume(args)
        if args.command == "recover":
            return _recover()
        if args.command == "worker":
            from .worker.command import run_command

            return run_command(args.action)
        if args.command == "tag":
            from . import tags

            return tags.run_command(args)
        if args.command == "card":
            from . import cards

            return cards.run_command(args)
    except FlowassetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


def _parameter_words(args: argparse.Namespace) -> list[str]:
    """``--config``/``--config-value`` given one word are a Parameter's (a flow may name one
    so, as Metaflow's run options allow): returned as parameter words, the rest kept."""
    words: list[str] = []
    for dest in ("config", "config_value"):
        kept = []
        for given in getattr(args, dest, None) or []:
            if len(given) == 2:
                kept.append(given)
            elif len(given) == 1:
                words += ["--" + dest.replace("_", "-"), given[0]]
            else:
                raise FlowassetsError(f"--{dest.replace('_', '-')} takes NAME and a value, "
                                      f"not {len(given)} words: {' '.join(given)}")
        setattr(args, dest, kept)
    return words


def _check_config_words(args: argparse.Namespace) -> None:
    """Outside ``run`` a one-word --config cannot be a Parameter: say what it takes."""
    extra = _parameter_words(args)
    if extra:
        raise FlowassetsError(f"{extra[0]} takes NAME and a value (two words), got {extra[1]!r}")


def _load_with_configs(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """The flow, its graph and its config values: ``--config`` / ``--config-value``, else
    Metaflow's environment variables (read after the flow file is imported, as Metaflow's
    click does), else the flow's defaults; each read once, here. The graph has the ``--with``
    decorators on its steps, checked with the written ones."""
    from ..authoring.loader import load_flow_class
    from ..graph.build import build_graph
    from ..graph.configs import resolve_config_values, sources_from_env

    _check_config_words(args)
    cls = load_flow_class(args.flow_file, args.flow)
    env_files, env_texts = sources_from_env()
    files = dict(args.config) if args.config else env_files
    texts = dict(args.config_value) if args.config_value else env_texts
    values = resolve_config_values(cls, files, texts)
    import json

    for name, value in values.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise FlowassetsError(
                f"flow {cls.__name__}: Config {name!r} is a {type(value).__name__}, which cannot "
                "be written as JSON; every process of a run rebuilds the job from the values as "
                "JSON. Make the parser return plain data (dicts, lists, numbers, text).") from None
    return cls, build_graph(cls, values, getattr(args, "with_", ())), values


def _parameter_parser(graph: Any) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"flowassets run {graph.flow_name}", add_help=False)
    for param in graph.parameters:
        parser.add_argument(f"--{param.name}", dest=param.attr_name, default=None,
                            help=param.help)
    for spec in graph.flow_decorators:  # a Metaflow extension's flow decorator's options
        for option in spec.options if spec.extension else ():
            parser.add_argument(f"--{option}", dest=f"flow_option:{option}", default=None)
    return parser


def _export_flow_options(cls: Any, graph: Any, values: argparse.Namespace) -> None:
    """As Metaflow's launching process: an extension flow decorator's ``flow_init`` runs with
    its ``--OPTION VALUE`` words, and the options it hands to tasks (``get_top_level_options``)
    reach the run's task processes as Metaflow's variables for them (runtime.flow_extensions)."""
    from ..runtime.flow_extensions import task_variables

    words = [w for dest, value in vars(values).items()
             if dest.startswith("flow_option:") and value is not None
             for w in ("--" + dest.split(":", 1)[1], value)]
    if any(spec.extension for spec in graph.flow_decorators):
        os.environ.update(task_variables(cls, graph.flow_decorators, words))


def _run(args: argparse.Namespace, extra: list[str]) -> int:
    from ..authoring.parameters import Parameter
    from .launch import LaunchRequest, launch

    extra = [*extra, *_parameter_words(args)]
    cls, graph, configs = _load_with_configs(args)
    values, unknown = _parameter_parser(graph).parse_known_args(extra)
    if unknown:
        known = ", ".join(f"--{p.name}" for p in graph.parameters) or "none"
        raise FlowassetsError(f"flow {graph.flow_name}: unknown option(s) {unknown}; its "
                              f"parameters are: {known}.")
    _export_flow_options(cls, graph, values)
    parameters: dict[str, Any] = {}
    for param in graph.parameters:
        raw = getattr(values, param.attr_name)
        if raw is None:
            # Metaflow's CLI also takes each parameter from METAFLOW_RUN_<NAME> (click envvar).
            raw = os.environ.get("METAFLOW_RUN_" + param.name.upper().replace("-", "_"))
        if raw is None:
            if param.required and param.default is None:
                raise FlowassetsError(f"flow {graph.flow_name}: Parameter {param.name!r} is "
                                      f"required: pass --{param.name} VALUE.")
            if param.type_name == "file" and param.default is not None:
                _check_included_file(graph, param, str(param.default))
            continue
        if param.type_name == "file":
            # A path: checked here (nothing is launched for a missing file) and made absolute,
            # so the start step reads the same file whatever its working directory.
            raw = os.path.abspath(raw)
            _check_included_file(graph, param, raw)
            parameters[param.name.replace("-", "_")] = raw
            continue
        # Validate now, so a bad value is refused before a run is created.
        converted = Parameter(param.name, type=_python_type(param.type_name)).convert(raw, graph.flow_name)
        parameters[param.name.replace("-", "_")] = raw if param.type_name == "JSON" else converted
    options = _translator_options(args.with_)
    if configs:
        options["configs"] = configs
    from ..compute.kubernetes import runs_on_kubernetes

    on_kubernetes = any(runs_on_kubernetes(node) for node in graph)
    tags = {**run_tags.launch_tags(args.tag, f"flow {graph.flow_name}"), **_project_tags(graph)}
    request = LaunchRequest(
        path=args.flow_file, flow_name=graph.flow_name, parameters=parameters,
        max_workers=args.max_workers, max_num_splits=args.max_num_splits,
        max_loop_iterations=args.max_loop_iterations,
        datastore=args.datastore, tags=tags, translator_options=options, quiet=args.quiet,
        kubernetes_steps=on_kubernetes, run_id_file=args.run_id_file,
        as_assets=args.assets or bool(args.asset), asset_artifacts=tuple(args.asset) or None,
    )
    result = launch(request)
    _summary(graph.flow_name, result, args.flow_file)
    return exit_code(result)


def _project_tags(graph: Any) -> dict[str, str]:
    """@project's name and branch for the run's system tags, named as Metaflow names them
    (``user.NAME`` by default, ``test.BRANCH`` with --branch / METAFLOW_BRANCH, ``prod``)."""
    project = next((d for d in graph.flow_decorators if d.name == "project"), None)
    if project is None or not project.args.get("name"):
        return {}
    branch = project.args.get("branch") or os.environ.get("METAFLOW_BRANCH")
    production = bool(project.args.get("production")) or os.environ.get(
        "METAFLOW_PRODUCTION", "").lower() in ("1", "true", "yes")
    name = "prod" if production and not branch else (
        f"{'prod' if production else 'test'}.{branch}" if branch else f"user.{run_tags.username()}")
    return {run_tags.PROJECT_TAG: str(project.args["name"]), run_tags.PROJECT_BRANCH_TAG: name}


def _resume(args: argparse.Namespace) -> int:
    from .resume import ResumeRequest, resume

    from ..authoring.decospecs import parse_decospecs
    from ..authoring.loader import load_flow_class

    # Not built here: the job is rebuilt with the origin run's config values (resume.py), and
    # building it with today's defaults first could fail (a required config) or differ. That
    # build checks the --with values (as Metaflow's resume takes --with), before any run.
    flow_name = load_flow_class(args.flow_file, args.flow).__name__
    parse_decospecs(args.with_, flow_name)  # an unknown name or a malformed one: refused now
    if args.config or args.config_value:
        raise FlowassetsError(f"flow {flow_name}: resume reuses the configs of the run it "
                              "resumes (as Metaflow does); drop --config / --config-value, or "
                              "start a new run with them.")
    tags = run_tags.launch_tags(args.tag, f"flow {flow_name}") if args.tag else {}
    result = resume(ResumeRequest(args.flow_file, flow_name, args.origin_run_id, args.step,
                                  translator_options=_translator_options(args.with_),
                                  tags=tags, run_id_file=args.run_id_file,
                                  max_loop_iterations=args.max_loop_iterations))
    _summary(flow_name, result, args.flow_file)
    return exit_code(result)


def _recover() -> int:
    from ..client.instance import get_instance
    from ..client.recovery import recover_dead_runs
    from ..compute.drivers import this_driver

    found = recover_dead_runs(get_instance(recover=False))
    for run in found:
        print(f"{run.run_id} ({run.flow}): marked {run.status}. {run.message}")
    if not found:
        print(f"No run with a dead driver on {this_driver().host}.")
    return 0


def exit_code(result: Any) -> int:
    """0 for success, 130 (a shell's code for Ctrl-C) for a canceled run, 1 for a failure."""
    if result.success:
        return 0
    return 130 if getattr(result, "status", "") == "CANCELED" else 1


def _check_included_file(graph: Any, param: Any, path: str) -> None:
    from ..authoring.parameters import read_included_file

    read_included_file(path, param.is_text, param.encoding, graph.flow_name, param.name)


def _python_type(name: str) -> Any:
    from ..authoring.parameters import JSONType

    return {"str": str, "int": int, "float": float, "bool": bool, "JSON": JSONType, "file": str}[name]


def _translator_options(with_options: list[str]) -> dict[str, Any]:
    """The translator settings of ``--with``: the texts as given (the job is rebuilt from them
    in every process; ``graph.build`` parses and checks them)."""
    return {"with_decorators": list(with_options)} if with_options else {}


def _summary(flow: str, result: Any, flow_file: str | None = None) -> None:
    status = "succeeded" if result.success else (
        "CANCELED" if getattr(result, "status", "") == "CANCELED" else "FAILED")
    counts = ""
    if getattr(result, "steps_total", 0):
        counts = f": {result.steps_done}/{result.steps_total} steps, " \
                 f"{result.tasks} task{'s' if result.tasks != 1 else ''}"
    print(f"\nRun {result.run_id} {status} in {result.seconds:.1f}s{counts}.")
    for step, text in result.failures:
        if status == "CANCELED":
            print(f"\n{text}", file=sys.stderr)
            continue
        what = f"Step {step!r}" if step else "The run"
        print(f"\n{what} failed:\n{text}", file=sys.stderr)
    print(f"Artifacts: python -c \"from flowassets.client import Flow; "
          f"print(Flow('{flow}')['{result.run_id}'].data)\"")
    print(f"Dagster UI: {dagster_dev_command(flow_file)}")
    print(f"  then open http://127.0.0.1:3000/runs/{result.run_id}")


def dagster_dev_command(flow_file: str | None = None) -> str:
    """A ``dagster dev`` that shows this instance's runs and the flow's job: the project's
    workspace.yaml when there is one here, else the flow file through ``flowassets.cli.ui``."""
    import os
    import shlex

    from ..client.instance import default_dagster_home

    env = f"DAGSTER_HOME={shlex.quote(default_dagster_home())}"
    if os.path.exists("workspace.yaml") or flow_file is None:
        return f"{env} dagster dev -w workspace.yaml"
    return (f"{env} FLOWASSETS_FLOW_FILES={shlex.quote(os.path.abspath(flow_file))} "
            "dagster dev -m flowassets.cli.ui")


def run_flow_class_as_script(cls: type) -> None:
    """``python my_flow.py run ...``: Metaflow's way of starting a flow file."""
    import inspect

    argv = sys.argv[1:]
    # Metaflow's --config / --config-value / --with are options of the flow, before the
    # command: `python flow.py --config-value cfg '{...}' --with retry run` passes them on.
    leading: list[str] = []
    while argv and (len(argv) >= 3 and argv[0] in ("--config", "--config-value")
                    or len(argv) >= 2 and argv[0] == "--with"):
        width = 2 if argv[0] == "--with" else 3
        leading, argv = leading + argv[:width], argv[width:]
    if not argv:
        argv = ["show"]
    command, rest = argv[0], [*argv[1:], *leading]
    path = inspect.getfile(cls)
    # --flow last: `logs RUN/STEP` has a positional after the file that must stay together.
    sys.exit(main([command, path, *rest, "--flow", cls.__name__], exiting=True))


if __name__ == "__main__":
    sys.exit(main())

"""``flowassets logs``: what tasks wrote, per stream, as Metaflow's ``logs`` prints it."""

from __future__ import annotations

import sys

from ..errors import FlowassetsError


def logs_pathspec(target: list[str], flow: str | None) -> str:
    """FLOW/RUN/STEP[/TASK] from either form; with a flow file the flow name comes from it."""
    if len(target) == 1 and not target[0].endswith(".py"):
        return target[0]
    if len(target) != 2 or not target[0].endswith(".py"):
        raise FlowassetsError("logs takes FLOW/RUN_ID/STEP[/TASK_ID], or FLOW_FILE.py "
                              "RUN_ID/STEP[/TASK_ID].")
    from ..authoring.loader import load_flow_class

    name = flow or load_flow_class(target[0]).__name__
    return f"{name}/{target[1].strip('/')}"


def logs(pathspec: str, streams: str = "both") -> int:
    """Print the tasks' output: ``streams`` is "stdout", "stderr" or "both" (Metaflow's
    ``logs --stdout/--stderr/--both``). The text goes to stdout; with both, each stream's name
    goes to stderr before it, as Metaflow's does, so a pipe gets only what the tasks wrote."""
    from ..client import Flow

    parts = pathspec.strip("/").split("/")
    if len(parts) < 3:
        raise FlowassetsError("logs takes FLOW/RUN_ID/STEP[/TASK_ID].")
    run = Flow(parts[0])[parts[1]]
    step = run[parts[2]]
    tasks = [step[parts[3]]] if len(parts) > 3 else list(step)
    names = ("stdout", "stderr") if streams == "both" else (streams,)
    for task in tasks:
        if len(tasks) > 1:
            print(f"--- {task.pathspec}", flush=True)
        for name in names:
            text = getattr(task, name)  # Task.stdout or Task.stderr
            if streams == "both":
                if not text:
                    continue
                print(name, file=sys.stderr, flush=True)
            print(text, end="" if text.endswith("\n") else "\n", flush=True)
    return 0

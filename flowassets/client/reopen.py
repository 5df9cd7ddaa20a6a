"""Client objects opened from a pathspec alone, looking nothing up until they are used.

That is what ``current.run`` / ``current.task`` return in a running task (whose step has not
finished: its tasks are those finished so far and the one asking), and what a pickled client
object becomes when loaded again. An object pickles as its pathspec, never as Dagster records,
so it can be kept as an artifact and read in another process, which reopens the run from the
Dagster instance at DAGSTER_HOME (``client.instance``), as Metaflow's client objects reopen
theirs from its metadata service.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ClientError
from ..storage.artifacts import ArtifactStore


def open_pathspec(pathspec: str, store: ArtifactStore | None = None) -> Any:
    """The client object of FLOW[/RUN[/STEP[/TASK]]], looked up only when used (see the module
    doc). ``store``: the run's artifact store when the caller knows it (a running task does), so
    reading needs no Dagster run record; else it comes from the run's tags."""
    from .core import Flow, Run, Step, Task

    parts = pathspec.split("/")
    if not 1 <= len(parts) <= 4 or not all(parts):
        raise ClientError(f"{pathspec!r} is not a pathspec FLOW[/RUN_ID[/STEP[/TASK_ID]]]")
    found: Any = Flow._unchecked(parts[0])
    if len(parts) > 1:
        found = Run._unchecked(found, parts[1], store)
    if len(parts) > 2:
        found = Step._unchecked(found, parts[2])
    if len(parts) > 3:
        found = Task._unchecked(found, parts[3])
    return found


_instances: dict[tuple[int, str], Any] = {}


def reading_instance() -> Any:
    """The Dagster instance that objects opened from a pathspec read: one per process (a
    forked task opens its own) and home, without marking dead runs failed (reading changes
    nothing)."""
    from .instance import default_dagster_home, get_instance

    key = (os.getpid(), default_dagster_home())
    if key not in _instances:
        _instances.clear()
        _instances[key] = get_instance(recover=False)
    return _instances[key]


def task_running_here(run: Any, step: str) -> str | None:
    """The id of the task of ``step`` in ``run`` that this process is running (``current``)."""
    from ..authoring.current import current

    if (current.is_running_flow and current.flow_name == run.flow.name
            and current.run_id == run.id and current.step_name == step):
        return current.task_id
    return None


class PicklesAsPathspec:
    """Pickled as the pathspec, reopened by ``open_pathspec`` when loaded (see the module doc)."""

    pathspec: str

    def __reduce__(self) -> tuple:
        return open_pathspec, (self.pathspec,)

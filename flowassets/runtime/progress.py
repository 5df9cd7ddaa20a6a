"""Task progress of the steps running in this process, for the CLI's live display.

A plain function call per finished task, and nothing at all unless a listener is set (only
``flowassets run`` sets one): no Dagster events, so the fast path stays as fast as before.
Steps that run elsewhere (a Kubernetes pod, another run worker) report through Dagster's step
events only.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol


class TaskListener(Protocol):
    def tasks(self, step: str, done: int, total: int) -> None: ...

    def task_log(self, step: str, task_id: str, stdout: bytes, stderr: bytes,
                 attempt: int = 0) -> None: ...


_listener: TaskListener | None = None


@contextmanager
def listening(listener: TaskListener | None) -> Iterator[None]:
    global _listener
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous


def is_listening() -> bool:
    return _listener is not None


def task_progress(step: str, done: int, total: int, task_id: str | None = None,
                  stdout: bytes = b"", stderr: bytes = b"", attempt: int = 0) -> None:
    """``done`` of ``total`` tasks of ``step`` are finished (``task_id`` just now, with what it
    wrote to ``stdout`` and ``stderr``)."""
    listener = _listener
    if listener is None:
        return
    if task_id is not None and (stdout or stderr):
        listener.task_log(step, task_id, stdout, stderr, attempt)
    listener.tasks(step, done, total)


def tasks_cloned(step: str, summary: str) -> None:
    """A resume reused finished tasks of ``step`` instead of running them (see ``summary``)."""
    listener = _listener
    if listener is not None and hasattr(listener, "tasks_cloned"):
        listener.tasks_cloned(step, summary)

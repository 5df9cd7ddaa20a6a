"""What ``flowassets run`` shows while a run goes: steps done/total, foreach tasks done/total
and time elapsed.

A terminal gets a live display drawn by rich (imported only then); a pipe or a file gets plain
lines, one per finished step plus a tasks line now and then for a wide foreach, so logs and CI
output stay readable. Both are fed by Dagster's step events (from ``launch``) and by the
runtime's per-task calls (``runtime.progress``), never by extra Dagster events.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, TextIO

from ..runtime.task_output import label, labelled

#: Plain mode: at most one "tasks done" line per step this often.
PLAIN_TASK_INTERVAL_S = 2.0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class PlainProgress:
    """One line per event worth keeping in a log, and each task's output as it finishes: its
    stdout to ``out``, its stderr to ``err``, every line labelled ``[step/task_id]`` (with the
    attempt for a retry), as in Dagster's captured logs."""

    #: Off when the task output reaches the terminal without us (no compute-log capture).
    shows_task_output = True

    def __init__(self, out: TextIO, flow: str, total_steps: int, err: TextIO | None = None):
        self.out, self.flow, self.total = out, flow, total_steps
        self.err = err if err is not None else out
        self.started = time.monotonic()
        self.finished = 0
        self._last_tasks_line: dict[str, float] = {}
        self.cloned_steps: set[str] = set()  # told once: by the runtime here, or by the step's output

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _counter(self) -> str:
        return f"[{self.finished}/{self.total} steps, {time.monotonic() - self.started:.1f}s]"

    def run_started(self, run_id: str, home: str) -> None:
        self._say(f"Run {run_id} of {self.flow} starting (Dagster home {home})")

    def step_started(self, step: str) -> None:
        pass

    def tasks(self, step: str, done: int, total: int) -> None:
        if total <= 1 or done in (0, total):
            return
        now = time.monotonic()
        if now - self._last_tasks_line.get(step, self.started) >= PLAIN_TASK_INTERVAL_S:
            self._last_tasks_line[step] = now
            self._say(f"  ...   {step:<24} {done}/{total} tasks done {self._counter()}")

    def task_log(self, step: str, task_id: str, stdout: bytes, stderr: bytes,
                 attempt: int = 0) -> None:
        if not self.shows_task_output:
            return
        prefix = label(step, task_id, attempt)
        for stream, text in ((self.out, stdout), (self.err, stderr)):
            if text:
                stream.write(labelled(prefix, text).decode(errors="replace"))
                stream.flush()

    def step_done(self, step: str, tasks: int, seconds: float) -> None:
        self.finished += 1
        self._say(f"  ok    {step:<24} {_plural(tasks, 'task')}, {seconds:.2f}s {self._counter()}")

    def step_skipped(self, step: str) -> None:
        self.finished += 1
        self._say(f"  skip  {step:<24} (switch branch not taken) {self._counter()}")

    def step_failed(self, step: str) -> None:
        self._say(f"  FAIL  {step} {self._counter()}")

    def tasks_cloned(self, step: str, summary: str) -> None:
        """A resume reused tasks of ``step`` (Metaflow prints "Cloning previously run task")."""
        self.cloned_steps.add(step)
        self._say(f"  clone {step:<24} {summary}")

    def close(self) -> None:
        pass


class QuietProgress(PlainProgress):
    """``--quiet``: counts steps for the summary, prints nothing."""

    shows_task_output = False

    def _say(self, text: str) -> None:
        pass


class LiveProgress(PlainProgress):
    """rich's progress bars: one for the run's steps, one per running step with many tasks.

    Redrawn by a small ticker thread so the elapsed time moves during a long task. Tasks are
    forked from this process: a fork while the ticker is writing could leave the child holding
    a half-taken stdout lock, so forks wait for the draw in progress (``os.register_at_fork``).
    """

    def __init__(self, out: TextIO, flow: str, total_steps: int, err: TextIO | None = None):
        super().__init__(out, flow, total_steps, err)
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)

        self.console = Console(file=out, force_terminal=True, highlight=False)
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[unit]}"), TimeElapsedColumn(),
                             console=self.console, auto_refresh=False, transient=False,
                             redirect_stdout=False, redirect_stderr=False)
        self.steps_bar = self.bars.add_task(f"{flow} steps", total=total_steps, unit="steps")
        self.task_bars: dict[str, Any] = {}
        self._stop = threading.Event()
        _DRAW_LOCK_USERS.append(self)
        self.bars.start()
        self._ticker = threading.Thread(target=self._tick, name="flowassets-progress", daemon=True)
        self._ticker.start()

    def _draw(self, fn: Any = None) -> None:
        with _DRAW_LOCK:
            if fn is not None:
                fn()
            self.bars.refresh()

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            self._draw()

    def run_started(self, run_id: str, home: str) -> None:
        self._draw(lambda: self.console.print(f"Run {run_id} of {self.flow} starting "
                                              f"(Dagster home {home})", markup=False))

    def step_started(self, step: str) -> None:
        self._draw(lambda: self.bars.update(self.steps_bar, description=f"{self.flow} steps "
                                            f"(running {step})"))

    def tasks(self, step: str, done: int, total: int) -> None:
        if total <= 1:
            return
        if step not in self.task_bars:
            self.task_bars[step] = self.bars.add_task(f"  {step}", total=total, unit="tasks")
        self._draw(lambda: self.bars.update(self.task_bars[step], completed=done, total=total))

    def task_log(self, step: str, task_id: str, stdout: bytes, stderr: bytes,
                 attempt: int = 0) -> None:
        if not self.shows_task_output:
            return
        # Both streams through the console: a write beside it would break the live bars.
        text = b"".join(labelled(label(step, task_id, attempt), t) for t in (stdout, stderr))
        self._draw(lambda: self.console.print(text.decode(errors="replace").rstrip("\n"),
                                              markup=False, highlight=False))

    def step_done(self, step: str, tasks: int, seconds: float) -> None:
        self.finished += 1

        def update() -> None:
            self.bars.update(self.steps_bar, completed=self.finished,
                             description=f"{self.flow} steps")
            self.console.print(f"  ok    {step:<24} {_plural(tasks, 'task')}, {seconds:.2f}s",
                               markup=False)
        self._draw(update)

    def step_skipped(self, step: str) -> None:
        self.finished += 1
        self._draw(lambda: (self.bars.update(self.steps_bar, completed=self.finished),
                            self.console.print(f"  skip  {step:<24} (switch branch not taken)",
                                               markup=False)))

    def step_failed(self, step: str) -> None:
        self._draw(lambda: (self.bars.update(self.steps_bar, description=f"{self.flow} steps "
                                             f"({step} failed)"),
                            self.console.print(f"  FAIL  {step}", markup=False, style="bold red")))

    def tasks_cloned(self, step: str, summary: str) -> None:
        self.cloned_steps.add(step)
        self._draw(lambda: self.console.print(f"  clone {step:<24} {summary}", markup=False))

    def close(self) -> None:
        self._stop.set()
        self._ticker.join()
        self._draw(self.bars.stop)
        _DRAW_LOCK_USERS.remove(self)


# Taken while drawing, and by a fork (in this process) until the fork is done.
_DRAW_LOCK = threading.RLock()
_DRAW_LOCK_USERS: list[LiveProgress] = []
_FORK_HOOK_SET = False


_HELD_FOR_FORK = False


def _before_fork() -> None:
    global _HELD_FOR_FORK
    if _DRAW_LOCK_USERS:
        _DRAW_LOCK.acquire()
        _HELD_FOR_FORK = True


def _after_fork_parent() -> None:
    global _HELD_FOR_FORK
    if _HELD_FOR_FORK:
        _HELD_FOR_FORK = False
        _DRAW_LOCK.release()


def _after_fork_child() -> None:
    global _DRAW_LOCK, _HELD_FOR_FORK
    if _HELD_FOR_FORK:
        _HELD_FOR_FORK = False
        _DRAW_LOCK_USERS.clear()  # the ticker thread does not exist in the child
        _DRAW_LOCK = threading.RLock()


def make_progress(out: TextIO, flow: str, total_steps: int,
                  err: TextIO | None = None) -> PlainProgress:
    """Live display on a terminal, plain lines otherwise (FLOWASSETS_PROGRESS=plain forces)."""
    global _FORK_HOOK_SET
    isatty = getattr(out, "isatty", lambda: False)()
    if not isatty or os.environ.get("FLOWASSETS_PROGRESS") == "plain" or os.environ.get("TERM") == "dumb":
        return PlainProgress(out, flow, total_steps, err)
    if not _FORK_HOOK_SET:
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                            after_in_child=_after_fork_child)
        _FORK_HOOK_SET = True
    return LiveProgress(out, flow, total_steps, err)

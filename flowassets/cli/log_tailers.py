"""In a terminal run, Dagster's compute-log capture keeps its files but does not copy them to
the terminal; ``flowassets run`` shows task output itself.

While a run executes in this process, Dagster swaps fds 1 and 2 for the files of the run's
captured logs (what the Dagster UI's stdout/stderr buttons show) and mirrors each file back to
the terminal through a ``tail -F`` and a Python ``watch_orphans.py`` watcher. For the CLI that
mirror did harm: everything the live display drew went into the captured stdout (and so into
the UI), the tails sat in the terminal's foreground process group and printed KeyboardInterrupt
tracebacks on Ctrl-C, they are stopped a moment after the run ends (so the last lines could be
lost: dagster-io/dagster#23336), and they would show every task's output a second time next to
the display's own. So the CLI writes its display and the tasks' output to copies of the
terminal's fds taken before the run (``terminal_streams``), and no tail is started; the
captured files are written as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator, TextIO


@contextlib.contextmanager
def no_tail_mirror() -> Iterator[None]:
    from dagster._core.execution import compute_logs

    original = compute_logs.execute_posix_tail

    @contextlib.contextmanager
    def no_tail(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield (None, None)  # (tail pid, watcher pid): neither started

    compute_logs.execute_posix_tail = no_tail
    try:
        yield
    finally:
        compute_logs.execute_posix_tail = original


@contextlib.contextmanager
def terminal_streams(out: TextIO) -> Iterator[tuple[TextIO, TextIO]]:
    """``(out, err)`` that still reach the terminal while Dagster captures fds 1 and 2: line
    buffered copies of those fds when ``out`` is this process's stdout, else ``out`` as given
    (a test's buffer) and ``sys.stderr``."""
    if out is not sys.stdout and out is not sys.__stdout__:
        yield out, sys.stderr
        return
    try:
        out.flush()
        sys.stderr.flush()
        fds = (os.dup(out.fileno()), os.dup(sys.stderr.fileno()))
    except (OSError, ValueError, AttributeError):  # no real fds (an embedding host's streams)
        yield out, sys.stderr
        return
    with open(fds[0], "w", buffering=1, encoding="utf-8", errors="replace") as term_out, \
            open(fds[1], "w", buffering=1, encoding="utf-8", errors="replace") as term_err:
        yield term_out, term_err

"""Dagster's log tailers in a terminal run must not take the terminal's Ctrl-C.

While a run executes in this process, Dagster's compute-log capture mirrors stdout and stderr
through a ``tail -F`` and a Python ``watch_orphans.py`` watcher per stream. They sit in the
terminal's foreground process group, so Ctrl-C reached them too: each watcher printed a
KeyboardInterrupt traceback over the run's own "CANCELED" summary. The driver stops them
itself as the run unwinds (SIGTERM), and the watcher still kills its tail if the driver is
killed, so they are started with SIGINT blocked; a blocked signal stays blocked across
``fork``/``exec``, and Python does not unblock it at start-up.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any, Iterator


@contextlib.contextmanager
def tailers_ignore_ctrl_c() -> Iterator[None]:
    from dagster._core.execution import compute_logs

    original = compute_logs.execute_posix_tail

    @contextlib.contextmanager
    def tail_without_sigint(*args: Any, **kwargs: Any) -> Iterator[Any]:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            manager = original(*args, **kwargs)
            value = manager.__enter__()  # the tail and its watcher are started here
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        with contextlib.ExitStack() as stack:
            stack.push(manager)
            yield value

    compute_logs.execute_posix_tail = tail_without_sigint
    try:
        yield
    finally:
        compute_logs.execute_posix_tail = original

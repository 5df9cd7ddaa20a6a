"""A task's stdout and stderr, labelled with the task, for the step's own stdout and stderr.

Dagster captures what a step's process writes to its file descriptors 1 and 2 (its compute log
manager swaps them for files of the run's log key, ``[run_id, "compute_logs", file_key]``), and
the run page's stdout/stderr buttons show those files. Tasks run in forked processes or pods
whose output comes back as bytes, so the step writes them there itself: each task's stdout to
its stdout and its stderr to its stderr, every line labelled ``[step/task_id]`` so the tasks of a foreach
can be told apart in one pane (the same label ``flowassets run`` shows in the terminal).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


def label(step: str, task_id: str, attempt: int = 0) -> str:
    """``[step/task_id]``, with the attempt when it is a retry (attempts count from 0)."""
    return f"[{step}/{task_id}{f' attempt {attempt}' if attempt else ''}]"


def labelled(prefix: str, text: bytes) -> bytes:
    """Every line of ``text`` after ``prefix`` and a space; ends with a newline."""
    if not text:
        return b""
    head = prefix.encode() + b" "
    return b"".join(head + line + b"\n" for line in text.rstrip(b"\n").split(b"\n"))


def write_to_step_streams(step: str, task_id: str, attempt: int, stdout: bytes,
                          stderr: bytes) -> None:
    """Write a finished task's output to this process's stdout and stderr, where Dagster's
    captured-log manager takes it for the step.

    To the file descriptor behind ``sys.stdout`` / ``sys.stderr``, which is the one Dagster
    swaps (fd 1 and 2, unless a host such as pytest replaced the streams), so output of any
    size goes straight to the file; a stream without one (a notebook's) is written as text."""
    prefix = label(step, task_id, attempt)
    for stream, text in ((sys.stdout, stdout), (sys.stderr, stderr)):
        if text:
            _write(stream, labelled(prefix, text))


def _write(stream: TextIO, data: bytes) -> None:
    try:
        stream.flush()  # what the op printed before stays before
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        fd = None
    try:
        if fd is None:
            stream.write(data.decode(errors="replace"))
            stream.flush()
            return
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except (OSError, ValueError):  # a closed stdout must not fail the step: the store has it
        pass

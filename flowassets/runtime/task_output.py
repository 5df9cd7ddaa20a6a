"""A task's stdout and stderr, labelled with the task, for the step's own stdout and stderr.

Dagster captures what a step's process writes to its file descriptors 1 and 2 (its compute log
manager swaps them for files of the run's log key, ``[run_id, "compute_logs", file_key]``), and
the run page's stdout/stderr buttons show those files. Tasks run in forked processes or pods
whose output comes back as bytes, so the step writes them there itself: each task's stdout to
fd 1 and its stderr to fd 2, every line labelled ``[step/task_id]`` so the tasks of a foreach
can be told apart in one pane (the same label ``flowassets run`` shows in the terminal).
"""

from __future__ import annotations

import os
import sys


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
    """Write a finished task's output to this process's stdout and stderr (fds 1 and 2), where
    Dagster's captured-log manager takes it for the step."""
    prefix = label(step, task_id, attempt)
    for stream, fd, text in ((sys.stdout, 1, stdout), (sys.stderr, 2, stderr)):
        if not text:
            continue
        try:
            stream.flush()  # what the op printed before stays before
        except (OSError, ValueError):
            pass
        _write_all(fd, labelled(prefix, text))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:  # a closed stdout must not fail the step: the store keeps the output
        pass

"""Run tasks in forked child processes, up to ``max_workers`` at a time.

Forking (not spawning) a process that already imported Dagster and the flow costs
milliseconds, which is what lets a 200-task foreach beat Metaflow's runtime. A child that
segfaults or calls ``os._exit`` fails only its own task; the op reports the signal or exit
code. Each child's stdout and stderr go to two files of its own, handed back with the result
(apart, so the step can hand them to Dagster's captured stdout and stderr).
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import selectors
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..compute.drivers import die_with_parent
from ..compute.outcome import TaskOutcome

T = TypeVar("T")


ChildOutcome = TaskOutcome


@dataclass
class _Child:
    item: Any
    pid: int
    read_fd: int
    out_fd: int  # unlinked temp files: a killed driver leaves no log files behind
    err_fd: int
    deadline: float | None
    chunks: list[bytes]
    killed_for_time: bool = False


def run_forked(items: Iterable[T], fn: Callable[[T], Any], max_workers: int,
               hard_timeout: Callable[[T], float | None] = lambda item: None) -> Iterator[ChildOutcome]:
    """Yield an outcome per item as each child finishes (completion order)."""
    pending = list(items)
    pending.reverse()
    running: dict[int, _Child] = {}
    selector = selectors.DefaultSelector()
    try:
        while pending or running:
            while pending and len(running) < max(1, max_workers):
                item = pending.pop()
                child = _start(item, fn, hard_timeout(item))
                running[child.read_fd] = child
                selector.register(child.read_fd, selectors.EVENT_READ)
            timeout = _next_deadline(running.values())
            for key, _ in selector.select(timeout):
                child = running[key.fd]
                data = os.read(key.fd, 1 << 16)
                if data:
                    child.chunks.append(data)
                    continue
                selector.unregister(key.fd)
                os.close(key.fd)
                del running[key.fd]
                yield _finish(child)
            now = time.monotonic()
            for child in running.values():
                if child.deadline is not None and now > child.deadline and not child.killed_for_time:
                    child.killed_for_time = True
                    _kill(child.pid)
    finally:
        for child in running.values():
            _kill(child.pid)
            try:
                os.waitpid(child.pid, 0)
                os.close(child.read_fd)
            except OSError:
                pass
            os.close(child.out_fd)
            os.close(child.err_fd)
        selector.close()


def _next_deadline(children: Iterable[_Child]) -> float | None:
    deadlines = [c.deadline for c in children if c.deadline is not None and not c.killed_for_time]
    if not deadlines:
        return None
    return max(0.0, min(deadlines) - time.monotonic()) + 0.05


def _start(item: Any, fn: Callable[[Any], Any], hard_timeout: float | None) -> _Child:
    read_fd, write_fd = os.pipe()
    out_fd, err_fd = _unlinked_file(".out"), _unlinked_file(".err")
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = 0
        try:
            die_with_parent(parent, signal.SIGKILL)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            # Dagster may have swapped sys.stdout for a capturing wrapper: write to the fds.
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            # A segfault in user code then leaves its Python traceback in the task's own log
            # (where the step's failure message quotes it), not on the parent's terminal.
            faulthandler.enable(file=sys.stderr)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                payload = ("ok", fn(item))
            except BaseException as exc:  # noqa: BLE001 - report every failure to the parent
                payload = ("error", type(exc).__name__, _format(exc))
            try:
                data = pickle.dumps(payload, protocol=5)
            except Exception as exc:  # noqa: BLE001
                data = pickle.dumps(("error", type(exc).__name__, f"result not picklable: {exc}"))
            sys.stdout.flush()
            sys.stderr.flush()
            view = memoryview(data)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + hard_timeout if hard_timeout else None
    return _Child(item, pid, read_fd, out_fd, err_fd, deadline, [])


def _unlinked_file(suffix: str) -> int:
    fd, path = tempfile.mkstemp(prefix="flowassets-task-", suffix=suffix)
    os.unlink(path)
    return fd


def _format(exc: BaseException) -> str:
    from ..errors import FlowassetsError

    if isinstance(exc, FlowassetsError) and exc.__traceback__ is not None:
        # Our own errors already say what happened; keep the user's frames only.
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if "/flowassets/" not in f.filename.replace(os.sep, "/")]
        tb = "".join(traceback.format_list(frames))
        return (f"{exc}\n{tb}" if tb else str(exc)).rstrip()
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Drop flowassets' own frames from the top so the user's code comes first.
    keep = [ln for ln in lines if "/flowassets/" not in ln.replace(os.sep, "/")]
    return "".join(keep).rstrip()


def _finish(child: _Child) -> ChildOutcome:
    _, status = os.waitpid(child.pid, 0)
    out = {"stdout": _read_and_close(child.out_fd), "stderr": _read_and_close(child.err_fd)}
    raw = b"".join(child.chunks)
    if raw:
        try:
            payload = pickle.loads(raw)
        except Exception as exc:  # noqa: BLE001
            return ChildOutcome(child.item, crash=f"the task's result could not be read ({exc})", **out)
        if payload[0] == "ok":
            return ChildOutcome(child.item, value=payload[1], **out)
        return ChildOutcome(child.item, error=payload[2], error_type=payload[1], **out)
    if child.killed_for_time:
        return ChildOutcome(child.item, crash="killed after exceeding its @timeout", **out)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return ChildOutcome(child.item, crash=f"the task's process was killed by signal {name}", **out)
    return ChildOutcome(child.item, crash=f"the task's process exited with code "
                        f"{os.WEXITSTATUS(status)} before reporting a result (os._exit or "
                        "sys.exit in the step?)", **out)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_and_close(fd: int) -> bytes:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)

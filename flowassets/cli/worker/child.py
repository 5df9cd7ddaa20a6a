"""The forked child: becomes the client's command (its fds, environment, directory, umask,
signal dispositions, argv) and runs the CLI's ``main`` as the ``flowassets`` script does, then
exits the way the interpreter would (non-daemon threads joined, atexit handlers run, streams
flushed; an uncaught Ctrl-C dies of SIGINT)."""

from __future__ import annotations

import atexit
import io
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, NoReturn

#: What a fresh interpreter ignores; everything else starts at its default.
_PYTHON_IGNORES = ("SIGPIPE", "SIGXFSZ")


def become_command(request: dict[str, Any], fds: list[int]) -> NoReturn:
    code = 1
    try:
        os.setpgid(0, 0)  # its own group: the client forwards a terminal's signals to all of it
        _reset_signals(request)
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
        os.closerange(3, 1 << 20)  # the worker's socket, lock and log are not the command's
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        time.tzset()
        raise_nice = int(request["nice"]) - os.getpriority(os.PRIO_PROCESS, 0)
        if raise_nice > 0:
            os.nice(raise_nice)
        sys.path[:] = request["sys_path"]
        sys.argv[:] = request["argv"]
        _rebuild_stdio(request["stdio"])
        code = _run_main(request["argv"][1:])
    except BaseException:  # noqa: BLE001 - whatever happens, this process must end here
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def _reset_signals(request: dict[str, Any]) -> None:
    signal.set_wakeup_fd(-1)
    ignored = set(request.get("ignored_signals", ()))
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if sig in ignored or sig in {getattr(signal, n) for n in _PYTHON_IGNORES}:
                signal.signal(sig, signal.SIG_IGN)
            elif sig == signal.SIGINT:
                signal.signal(sig, signal.default_int_handler)
            else:
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, request.get("blocked_signals", ()))


def _rebuild_stdio(settings: list[dict[str, Any]]) -> None:
    """New stream objects over fds 0-2 with the client's encoding and buffering, as the
    interpreter makes them at start-up (a terminal's stdout is line-buffered, a pipe's is not)."""
    streams = []
    for fd, (mode, name), given in zip((0, 1, 2), (("rb", "<stdin>"), ("wb", "<stdout>"),
                                                  ("wb", "<stderr>")), settings):
        raw = io.FileIO(fd, mode, closefd=False)
        raw.name = name
        binary = io.BufferedReader(raw) if fd == 0 else (
            io.BufferedWriter(raw) if given["buffered"] else raw)
        text = io.TextIOWrapper(binary, encoding=given["encoding"], errors=given["errors"],
                                newline="\n",
                                line_buffering=given["line_buffering"],
                                write_through=given["write_through"])
        text.mode = mode[0]
        streams.append(text)
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams


def _run_main(args: list[str]) -> int:
    from ..main import main

    code = 1
    try:
        code = main(args, exiting=True)
        code = 0 if code is None else code
    except SystemExit as exc:
        code = _system_exit_code(exc)
    except KeyboardInterrupt:
        traceback.print_exc()
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # die of SIGINT, as the interpreter does
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:  # noqa: BLE001
        sys.excepthook(*sys.exc_info())
        code = 1
    return _finish(code)


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _finish(code: int = 0) -> int:
    """Interpreter shutdown, the parts a command can see."""
    try:
        threading._shutdown()  # type: ignore[attr-defined] - joins non-daemon threads
    except BaseException:  # noqa: BLE001
        pass
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # the interpreter's status when flushing stdout fails
    return code

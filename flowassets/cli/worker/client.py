"""The ``flowassets`` command's side: hand the command to a warm worker, or start one for next
time and let the command run here. Stdlib only (never Dagster): this runs before every command.

Returns None whenever the command should run in this process: no worker yet (one is started in
the background, and waits for this process to end before it imports anything, so this run is
not slowed), the worker refused (another environment for a variable Dagster reads at import, a
module shadowed by the current directory), FLOWASSETS_NO_DAEMON=1, or any problem (one line on
stderr). Once the worker has started the command, its exit status is this process's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from typing import Any

from . import place as places
from .wire import WireError, peer_uid, receive, send

#: The commands worth a worker: they import Dagster. ``show``/``check``/``tag`` never do.
COMMANDS = ("run", "resume", "logs")
REPLY_TIMEOUT_S = 10.0
#: Forwarded to the command; the worker sends these to its process group, as a terminal does.
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGWINCH", "SIGTSTP", "SIGCONT", "SIGUSR1",
             "SIGUSR2")

#: The worker's bootstrap: the client's sys.path (its stable part), then a record of the
#: environment variables that module-level statements read while the worker imports (``X =
#: os.environ.get(...)`` keeps the value for the process's life), so that a command with other
#: values for them is not served. Reads inside functions called at import (a subprocess's copy
#: of the environment, argparse asking for COLUMNS) leave nothing behind and are not recorded.
BOOT = """\
import json, os, sys
given = json.loads(sys.argv[1])
sys.path[:] = given["path"]
class EnvReads(type(os.environ)):
    names = set()
    def __getitem__(self, name):
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_filename.startswith("<frozen ")
                                     or frame.f_code.co_filename.endswith(("/os.py", "abc.py"))):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_name == "<module>":
            EnvReads.names.add(name)
        return super().__getitem__(name)
os.environ.__class__ = EnvReads
from flowassets.cli.worker.server import main
main(given, EnvReads)
"""


def run_in_worker(args: list[str]) -> int | None:
    """The command's exit status from the worker, or None: run it in this process."""
    if not args or args[0] not in COMMANDS or places.disabled() or not _plain_interpreter():
        return None
    try:
        where, path = places.locate()
        if _from_volatile_path():
            return _declined("flowassets is imported from the current directory")
        sock = _connect(where.socket)
        if sock is None:
            start_worker(where, path, spawner=os.getpid())
            return None
    except places.WorkerUnavailable as exc:
        return _problem(str(exc))
    except Exception as exc:  # noqa: BLE001 - the worker is an optimisation: never fail over it
        return _problem(f"{type(exc).__name__}: {exc}")
    with sock:
        return _hand_over(sock, where, args)


def _plain_interpreter() -> bool:
    """Import tracing (-X importtime, -v) prints what this process imports: a worker's child
    would not print the same, so such a command runs here."""
    return "importtime" not in sys._xoptions and not sys.flags.verbose and all(
        stream is not None for stream in (sys.stdin, sys.stdout, sys.stderr))


def _from_volatile_path() -> bool:
    if sys.flags.safe_path or not sys.path:
        return False
    first = os.path.realpath(sys.path[0] or os.getcwd())
    return os.path.dirname(places.flowassets_dir()) == first


def _connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    if peer_uid(sock) != os.getuid():
        sock.close()
        raise places.WorkerUnavailable(f"{path} is served by another user")
    return sock


def start_worker(where: places.Place, path: list[str], spawner: int) -> None:
    """Start the worker unless one is starting (it holds its lock from its first instant); it
    waits for ``spawner`` to exit before loading anything (0: load at once)."""
    import fcntl

    with open(where.lock, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a worker is starting or draining: it answers next time
        fcntl.flock(lock, fcntl.LOCK_UN)
    import subprocess

    given = {"path": path, "dir": where.directory, "key": where.key,
             "spawner": spawner, "flowassets": places.flowassets_dir(),
             "dagster_home": os.environ.get("DAGSTER_HOME")}
    flags = subprocess._args_from_interpreter_flags()  # the same interpreter flags as this one
    with open(where.log, "ab") as log:
        subprocess.Popen([sys.executable, *flags, "-c", BOOT, json.dumps(given)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                         start_new_session=True, close_fds=True)


def request_for(where: places.Place, args: list[str]) -> dict[str, Any]:
    umask = os.umask(0o022)
    os.umask(umask)
    return {
        "op": "run", "key": where.key, "argv": [sys.argv[0], *args], "env": dict(os.environ),
        "cwd": os.getcwd(), "umask": umask, "sys_path": list(sys.path),
        "stdio": [_stream_settings(s) for s in (sys.stdin, sys.stdout, sys.stderr)],
        "ignored_signals": [int(s) for s in _signals() if signal.getsignal(s) == signal.SIG_IGN],
        "blocked_signals": [int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])],
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
    }


def _stream_settings(stream: Any) -> dict[str, Any]:
    return {"encoding": stream.encoding, "errors": stream.errors,
            "line_buffering": stream.line_buffering, "write_through": stream.write_through,
            "buffered": not hasattr(stream, "buffer") or hasattr(stream.buffer, "raw")}


def _signals() -> list[signal.Signals]:
    return [getattr(signal, name) for name in FORWARDED if hasattr(signal, name)]


def _hand_over(sock: socket.socket, where: places.Place, args: list[str]) -> int | None:
    try:
        sock.settimeout(REPLY_TIMEOUT_S)
        send(sock, request_for(where, args), [0, 1, 2])
        reply, _ = receive(sock)
    except (OSError, WireError) as exc:
        return _problem(f"no answer ({exc})")
    if reply.get("op") == "refused":
        return _declined(reply.get("reason", ""))
    if reply.get("op") != "started":
        return _problem(f"unexpected answer {reply.get('op')!r}")
    sock.settimeout(None)
    return _wait(sock, int(reply["pid"]))


def _wait(sock: socket.socket, pid: int) -> int:
    """Forward signals while the command runs; exit as it exited (or die of its signal)."""
    previous = {}

    def forward(signum: int, _frame: Any) -> None:
        try:
            send(sock, {"op": "signal", "signal": signum})
        except OSError:
            pass
        if signum == signal.SIGTSTP:  # Ctrl-Z: the worker stopped the command; stop here too
            os.kill(os.getpid(), signal.SIGSTOP)

    for sig in _signals():
        if signal.getsignal(sig) != signal.SIG_IGN:
            previous[sig] = signal.signal(sig, forward)
    try:
        while True:
            try:
                message, _ = receive(sock)
            except (OSError, WireError) as exc:
                print(f"flowassets: lost the warm worker while the command ran ({exc})",
                      file=sys.stderr)
                _wait_for_exit(pid)
                return 1
            if message.get("op") == "exit":
                return int(message["code"])
            if message.get("op") == "signaled":
                _die_of(int(message["signal"]), previous)
                return 128 + int(message["signal"])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _die_of(signum: int, previous: dict) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    previous.pop(signal.Signals(signum), None)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _wait_for_exit(pid: int) -> None:
    """The command outlives a worker that crashed: wait for it, not to hand the terminal back
    while it still writes."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return
    import select

    with os.fdopen(fd) as handle:
        select.select([handle], [], [])


def _declined(reason: str) -> None:
    if os.environ.get(places.DEBUG_ENV):
        print(f"flowassets: warm worker not used: {reason}", file=sys.stderr)
    return None


def _problem(reason: str) -> None:
    print(f"flowassets: warm worker not used ({reason}); running in this process", file=sys.stderr)
    return None

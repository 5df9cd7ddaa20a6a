"""The warm worker: imports Dagster, flowassets and the instance's storage modules once, then
forks one child per command (``child.become_command``) and reports its exit status.

One thread, one ``select`` loop: the listening socket, each client's connection (signals to
forward, or its end) and each child's pidfd (its exit). Nothing that could be shared wrongly
across a fork is ever open here: no instance, no database connection, no thread. The worker
stops listening when its installation changes (the key computed from the files differs), when
its socket is removed or replaced, on ``flowassets worker stop`` or SIGTERM, and after
FLOWASSETS_WORKER_IDLE_S without a command; it exits once its running commands have ended.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ...compute.drivers import pid_exists
from . import place as places
from .preload import preload
from .wire import WireError, peer_uid, receive, send

TICK_S = 1.0
CHECK_EVERY_S = 10.0


def main(given: dict[str, Any], env_reads: type) -> None:
    where = places.Place(given["dir"], given["key"])
    lock = open(where.lock, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another worker for this installation is starting or running
    _wait_for_exit(int(given["spawner"]))
    started = time.monotonic()
    preload(given.get("dagster_home"))
    os.environ.__class__ = type(os.environ).__mro__[1]  # stop recording reads
    reads = sorted(getattr(env_reads, "names", ()))
    worker = Worker(where, list(given["path"]), env_at_import={n: os.environ.get(n) for n in reads})
    problem = worker.check_loaded(given)
    if problem:
        _log(f"not serving: {problem}")
        return
    worker.listen()
    _log(f"serving {where.socket} (pid {os.getpid()}, loaded in {time.monotonic() - started:.2f}s)")
    gc.collect()
    gc.freeze()  # children never scan or dirty what is loaded here
    try:
        worker.loop()
    finally:
        worker.stop_listening()
        lock.close()


def _log(text: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S"), text, file=sys.stderr, flush=True)


def _wait_for_exit(pid: int) -> None:
    """The first command started this worker and runs itself: import nothing until it ends,
    so that command is not slowed down by this one's imports (0: started by ``worker start``)."""
    if pid <= 0:
        return
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        while pid_exists(pid):
            time.sleep(0.1)
        return
    select.select([fd], [], [])
    os.close(fd)


@dataclass
class Running:
    """One command: the client's connection and the child that runs it."""

    conn: socket.socket | None  # None once the client is gone
    pid: int
    pidfd: int | None


@dataclass
class Worker:
    where: places.Place
    path: list[str]
    env_at_import: dict[str, str | None]
    listener: socket.socket | None = None
    inode: int | None = None
    running: dict[int, Running] = field(default_factory=dict)
    served: int = 0
    started: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.monotonic)
    stop_requested: bool = False
    #: CPU and peak memory of the commands (each child and the processes it waited for), so a
    #: benchmark can add what the client's own figures cannot see
    commands_cpu_s: float = 0.0
    last_command_maxrss_kb: int = 0
    top_modules: frozenset[str] = frozenset()

    def check_loaded(self, given: dict[str, Any]) -> str | None:
        if threading.active_count() != 1:
            return f"an import started a thread ({threading.enumerate()})"
        if places.flowassets_dir() != given["flowassets"]:
            return f"imported flowassets from {places.flowassets_dir()}, not {given['flowassets']}"
        if self.current_key() != self.where.key:
            return "the installation changed while loading"
        self.top_modules = frozenset(name.split(".")[0] for name, module in list(sys.modules.items())
                                     if getattr(module, "__file__", None))
        return None

    def current_key(self) -> str:
        return places.compute_key(places.key_inputs(places.flowassets_dir(), self.path))

    def listen(self) -> None:
        temporary = self.where.file(f".{os.getpid()}.tmp")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(temporary)
        os.chmod(temporary, 0o600)
        listener.listen(64)
        os.rename(temporary, self.where.socket)  # atomic: clients see the old socket or this one
        self.listener, self.inode = listener, os.stat(self.where.socket).st_ino
        with open(self.where.info, "w") as handle:
            json.dump({"pid": os.getpid(), "key": self.where.key, "socket": self.where.socket,
                       "python": sys.executable, "flowassets": places.flowassets_dir(),
                       "started": self.started}, handle)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_stop_signal)

    def _on_stop_signal(self, _signum: int, _frame: Any) -> None:
        self.stop_requested = True

    def stop_listening(self) -> None:
        if self.listener is None:
            return
        self.listener.close()
        self.listener = None
        try:
            if os.stat(self.where.socket).st_ino == self.inode:
                os.unlink(self.where.socket)
                os.unlink(self.where.info)
        except OSError:
            pass

    def still_current(self) -> bool:
        try:
            if os.stat(self.where.socket).st_ino != self.inode:
                return False
        except OSError:
            return False
        return os.path.exists(sys.executable) and self.current_key() == self.where.key

    def loop(self) -> None:
        idle_s, checked = places.idle_seconds(), time.monotonic()
        while self.listener is not None or self.running:
            if self.stop_requested:
                self.stop_listening()
            now = time.monotonic()
            if self.listener is not None and now - checked > CHECK_EVERY_S:
                checked = now
                if not self.still_current():
                    _log("installation or socket changed: stop listening")
                    self.stop_listening()
            if self.listener is not None and not self.running and now - self.last_active > idle_s:
                _log(f"idle for {idle_s:.0f}s: exiting")
                self.stop_listening()
                break
            watched: list[Any] = [r.conn for r in self.running.values() if r.conn is not None]
            watched += [r.pidfd for r in self.running.values() if r.pidfd is not None]
            if self.listener is not None:
                watched.append(self.listener)
            polling = any(r.pidfd is None for r in self.running.values())
            ready, _, _ = select.select(watched, [], [], 0.05 if polling else TICK_S)
            for item in ready:
                if item is self.listener:
                    self.accept()
                elif isinstance(item, int):
                    self.reap(next(r for r in self.running.values() if r.pidfd == item))
                else:
                    self.from_client(next(r for r in self.running.values() if r.conn is item))
            for run in list(self.running.values()):
                if run.pidfd is None:
                    self.reap(run, block=False)

    def accept(self) -> None:
        assert self.listener is not None
        conn, _ = self.listener.accept()
        self.last_active = time.monotonic()
        try:
            if peer_uid(conn) != os.getuid():
                conn.close()  # another user: not a word
                return
            conn.settimeout(5.0)
            request, fds = receive(conn, max_fds=3)
        except (OSError, WireError) as exc:
            _log(f"bad request: {exc}")
            conn.close()
            return
        try:
            self.answer(conn, request, fds)
        except (OSError, WireError) as exc:
            _log(f"client gone: {exc}")
            conn.close()
        finally:
            for fd in fds:
                os.close(fd)

    def answer(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        op = request.get("op")
        if op == "status":
            send(conn, self.status())
            conn.close()
        elif op == "stop":
            send(conn, {"op": "stopping", "pid": os.getpid(), "running": len(self.running)})
            conn.close()
            self.stop_listening()
        elif op == "run":
            reason = self.refusal(request, fds)
            if reason:
                send(conn, {"op": "refused", "reason": reason})
                conn.close()
                return
            self.start(conn, request, fds)
        else:
            conn.close()

    def refusal(self, request: dict[str, Any], fds: list[int]) -> str | None:
        if request.get("key") != self.where.key:
            return "another installation"
        if len(fds) != 3:
            return "stdin, stdout and stderr did not arrive"
        for name, value in self.env_at_import.items():
            if request["env"].get(name) != value:
                return f"{name} differs from the worker's (it is read when modules are imported)"
        given = request["sys_path"]
        if given == self.path:
            return None
        if given[1:] != self.path:
            return "another sys.path"
        return self.shadowed(given[0] or request["cwd"], request["cwd"])

    def shadowed(self, first: str, cwd: str) -> str | None:
        """The command's first sys.path entry (its directory, or the current one) comes before
        the worker's: a module there with the name of one the worker loaded would be imported
        by a plain command instead."""
        folder = os.path.join(cwd, first)
        if os.path.realpath(folder) in {os.path.realpath(p) for p in self.path if p}:
            return None
        try:
            names = _importable_names(folder)
        except OSError:
            return None
        clash = sorted(names & self.top_modules)
        return f"{folder} has {', '.join(clash)}, which the worker imported" if clash else None

    def start(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            from .child import become_command

            become_command(request, fds)
        try:
            os.setpgid(pid, pid)  # also done by the child: whichever runs first
        except OSError:
            pass
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        conn.settimeout(None)
        run = self.running[pid] = Running(conn, pid, pidfd)
        self.served += 1
        try:
            send(conn, {"op": "started", "pid": pid})
        except OSError:
            self._client_gone(run)

    def from_client(self, run: Running) -> None:
        try:
            message, _ = receive(run.conn)
        except (OSError, WireError):
            self._client_gone(run)
            return
        if message.get("op") == "signal":
            signum = int(message["signal"])
            if signum == signal.SIGTSTP:
                _signal(run.pid, signal.SIGSTOP, group=True)
            else:
                _signal(run.pid, signum, group=signum != signal.SIGTERM)

    def _client_gone(self, run: Running) -> None:
        """The client was killed (SIGKILL): its process would have taken nothing else with it,
        so only the command's own process ends, as the plain command's would have."""
        _signal(run.pid, signal.SIGKILL, group=False)
        if run.conn is not None:
            run.conn.close()
            run.conn = None

    def reap(self, run: Running, block: bool = True) -> None:
        pid, status, usage = os.wait4(run.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return
        self.commands_cpu_s += usage.ru_utime + usage.ru_stime
        self.last_command_maxrss_kb = usage.ru_maxrss
        self.running.pop(run.pid, None)
        self.last_active = time.monotonic()
        if run.pidfd is not None:
            os.close(run.pidfd)
        message = ({"op": "signaled", "signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status)
                   else {"op": "exit", "code": os.waitstatus_to_exitcode(status)})
        if run.conn is not None:
            try:
                send(run.conn, message)
            except OSError:
                pass
            run.conn.close()

    def status(self) -> dict[str, Any]:
        return {"op": "status", "pid": os.getpid(), "key": self.where.key,
                "socket": self.where.socket, "python": sys.executable,
                "flowassets": places.flowassets_dir(), "served": self.served,
                "running": len(self.running), "uptime_s": round(time.time() - self.started, 1),
                "idle_s": round(time.monotonic() - self.last_active, 1),
                "idle_limit_s": places.idle_seconds(), "env_read_at_import": sorted(self.env_at_import),
                "commands_cpu_s": round(self.commands_cpu_s, 3),
                "last_command_maxrss_kb": self.last_command_maxrss_kb,
                **_memory()}


def _importable_names(folder: str) -> set[str]:
    """Top-level names a folder on sys.path provides: modules (``x.py``, ``x.cpython-311-...so``)
    and regular packages (``x/__init__.py``). Console scripts (``bin/flowassets``, no suffix)
    and plain folders (namespace portions, which a regular package later on the path beats)
    are not."""
    from importlib.machinery import all_suffixes

    suffixes = tuple(all_suffixes())
    names = set()
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(suffixes):
                names.add(entry.name.split(".")[0])
            elif entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                names.add(entry.name)
    return names


def _signal(pid: int, signum: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        if group:
            _signal(pid, signum, group=False)
    except OSError:
        pass


def _memory() -> dict[str, int]:
    found: dict[str, int] = {}
    for path, names in (("/proc/self/status", ("VmRSS",)), ("/proc/self/smaps_rollup", ("Pss",))):
        try:
            with open(path) as handle:
                for line in handle:
                    name = line.split(":", 1)[0]
                    if name in names:
                        found[f"{name.lower()}_kb"] = int(line.split()[1])
        except OSError:
            pass
    return found

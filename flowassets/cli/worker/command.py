"""``flowassets worker status`` and ``flowassets worker stop``: what is warm, and ending it."""

from __future__ import annotations

import glob
import os
import socket
import time
from typing import Any

from . import place as places
from .wire import WireError, peer_uid, receive, send


def run_command(action: str) -> int:
    directory = places.worker_dir()
    if action == "start":
        return _start()
    workers = _ask_all(directory, "status" if action == "status" else "stop")
    if action == "status":
        return _print_status(directory, workers)
    for info in workers:
        _wait_gone(int(info["pid"]), 10.0)
        running = f" after its {info['running']} running command(s)" if info.get("running") else ""
        print(f"stopped worker {info['pid']} ({info['socket']}){running}")
    if not workers:
        print(f"no worker is running in {directory}")
    return 0


def _start(timeout_s: float = 300.0) -> int:
    """Start this installation's worker now (not after the next command) and wait until it
    answers: benchmarks and tests measure a warm worker this way."""
    from .client import start_worker

    deadline, attempts, last_start = time.monotonic() + timeout_s, 0, -60.0
    while time.monotonic() < deadline:
        # Located again each time: a worker that saw the files change while it loaded exits,
        # and the next one is keyed on the files as they are now.
        where, path = places.locate()
        status = ask(where.socket, {"op": "status"})
        if status is not None:
            return _print_status(where.directory, [status])
        # A new interpreter takes a while to reach the lock: 30 s before starting another.
        if time.monotonic() - last_start > 30 and not _starting(where):
            if attempts == 3:
                break
            attempts, last_start = attempts + 1, time.monotonic()
            start_worker(where, path, spawner=0)
        time.sleep(0.1)
    print(f"the worker did not answer; see {places.locate()[0].log}")
    return 1


def _starting(where: places.Place) -> bool:
    """A worker holds the lock from its first instant until it exits."""
    import fcntl

    with open(where.lock, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def _print_status(directory: str, workers: list[dict[str, Any]]) -> int:
    disabled = " (disabled here: FLOWASSETS_NO_DAEMON is set)" if places.disabled() else ""
    if not workers:
        print(f"no worker is running in {directory}{disabled}")
        return 0
    try:
        current = places.locate()[0].key
    except places.WorkerUnavailable:
        current = None
    for info in workers:
        this = "this installation" if info["key"] == current else "another installation"
        print(f"worker {info['pid']} ({this}{disabled}): {info['socket']}\n"
              f"  python {info['python']}, flowassets {info['flowassets']}\n"
              f"  up {info['uptime_s']:.0f}s, served {info['served']}, running {info['running']}, "
              f"idle {info['idle_s']:.0f}s of {info['idle_limit_s']:.0f}s, "
              f"resident {info.get('vmrss_kb', 0) / 1024:.0f} MB (PSS {info.get('pss_kb', 0) / 1024:.0f} MB)")
    return 0


def _ask_all(directory: str, op: str) -> list[dict[str, Any]]:
    """Every live worker in ``directory`` answered ``op``; a socket nobody serves is removed."""
    if not os.path.isdir(directory):
        return []
    places.private_dir(directory)
    answers = []
    for path in sorted(glob.glob(os.path.join(directory, "w-*.sock"))):
        answer = ask(path, {"op": op})
        if answer is None:
            continue
        if op == "stop":
            answer = {**answer, "socket": path}
        answers.append(answer)
    return answers


def ask(path: str, message: dict[str, Any], timeout: float = 5.0) -> dict[str, Any] | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        if peer_uid(sock) != os.getuid():
            return None
        send(sock, message)
        return receive(sock)[0]
    except (FileNotFoundError, ConnectionRefusedError):
        _remove_dead(path)
        return None
    except (OSError, WireError):
        return None
    finally:
        sock.close()


def _remove_dead(path: str) -> None:
    for stale in (path, path[:-len(".sock")] + ".json"):
        try:
            os.unlink(stale)
        except OSError:
            pass


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def status_of(path: str) -> dict[str, Any] | None:
    """One worker's status (tests and benchmarks read its served count and memory)."""
    return ask(path, {"op": "status"})

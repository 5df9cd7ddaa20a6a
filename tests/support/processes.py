"""Processes a test must not leave behind: a check around a test, read from /proc (Linux).

A test that runs flows starts processes it never sees: Dagster's compute-log capture runs a
``tail -F`` and a ``watch_orphans.py`` watcher per stream, the runtime forks a process per task,
the CLI and the Kubernetes emulator start more. When one of them outlives the run it belongs to,
nothing fails: it is reparented to init and runs until the machine stops. This check records the
processes that concern the test before it and names every new one still alive after it.

A process concerns the test when it descends from this process, when its command line mentions
one of the test's markers (its tmp path, its DAGSTER_HOME), or when its working directory is
under one: a tail of a compute log under DAGSTER_HOME, a task worker reading the test's store, a
forked task (whose command line is pytest's, but whose working directory is the test's) that
lost its parent. A
``watch_orphans.py`` watcher names no path, only its parent's and its tail's pids: it concerns
the test when either of them does.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import pytest

WATCHER_SCRIPT = "watch_orphans.py"


@dataclass(frozen=True)
class Proc:
    """One process as /proc shows it. ``start`` (clock ticks after boot) tells a process from a
    later one that reuses its pid."""

    pid: int
    ppid: int
    start: int
    cmdline: str
    cwd: str

    @property
    def key(self) -> tuple[int, int]:
        return self.pid, self.start

    def describe(self) -> str:
        return f"pid {self.pid} (parent {self.ppid}, cwd {self.cwd or '?'}): {self.cmdline or '?'}"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # gone in the meantime, or not ours to read
        return None


def read_proc(pid: int) -> Proc | None:
    """The process ``pid``, or None if it is gone or a zombie (it runs nothing any more; its
    parent reaps it)."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return None
    raw = _read(f"/proc/{pid}/cmdline") or b""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    return Proc(pid=pid, ppid=int(fields[1]), start=int(fields[19]),
                cmdline=raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace"), cwd=cwd)


def all_processes() -> dict[int, Proc]:
    """Every live process by pid, in one pass over /proc."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            proc = read_proc(int(name))
            if proc is not None:
                procs[proc.pid] = proc
    return procs


def descendants(root: int, procs: Mapping[int, Proc]) -> set[int]:
    """The pids below ``root`` in ``procs`` (an orphan has left the tree: see ``concerning``)."""
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _watcher_pids(proc: Proc) -> tuple[int, ...]:
    """The (parent, tail) pids a ``watch_orphans.py`` watcher was started with, else ()."""
    args = proc.cmdline.split()
    for i, arg in enumerate(args[:-2]):
        if arg.endswith(WATCHER_SCRIPT) and args[i + 1].isdigit() and args[i + 2].isdigit():
            return int(args[i + 1]), int(args[i + 2])
    return ()


def concerning(markers: Iterable[str], root: int = 0,
               procs: Mapping[int, Proc] | None = None) -> dict[tuple[int, int], Proc]:
    """The processes that concern a test (see the module docstring), keyed by (pid, start)."""
    root = root or os.getpid()
    markers = [m for m in markers if m]
    procs = all_processes() if procs is None else procs
    chosen = descendants(root, procs)
    chosen |= {p.pid for p in procs.values() if p.pid != root and any(
        m in p.cmdline or p.cwd == m or p.cwd.startswith(m.rstrip(os.sep) + os.sep) for m in markers)}
    chosen |= {p.pid for p in procs.values()
               if any(pid in chosen or pid == root for pid in _watcher_pids(p))}
    return {procs[pid].key: procs[pid] for pid in chosen if pid in procs}


class LeftoverCheck:
    """What ``no_leftover_processes`` yields: ``allow`` a process the test keeps on purpose."""

    def __init__(self, markers: Iterable[str], wait_s: float):
        self.markers = tuple(m for m in markers if m)
        self.wait_s = wait_s
        self.before = concerning(self.markers)
        self._allowed: set[int] = set()

    def allow(self, pid: int) -> None:
        """Keep ``pid`` and its descendants out of the check: a server the test restarts, which
        lives on for the session."""
        self._allowed.add(pid)

    def leftovers(self) -> list[Proc]:
        procs = all_processes()
        now = concerning(self.markers, procs=procs)
        allowed = set(self._allowed).union(*(descendants(pid, procs) for pid in self._allowed))
        return sorted((p for key, p in now.items() if key not in self.before and p.pid not in allowed),
                      key=lambda p: p.pid)

    def assert_none_left(self) -> None:
        """Processes exit asynchronously (a watcher polls its parent once a second): poll up to
        ``wait_s`` before calling anything left behind."""
        deadline = time.monotonic() + self.wait_s
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self.leftovers()
        assert not left, (f"{len(left)} process(es) left behind:\n"
                          + "\n".join("  " + p.describe() for p in left))


@contextlib.contextmanager
def no_leftover_processes(*markers: str, wait_s: float = 5.0) -> Iterator[LeftoverCheck]:
    """Fail if the block leaves a new process that concerns it alive. Not checked when the
    block raises: its own failure is the one to read."""
    check = LeftoverCheck(markers, wait_s)
    yield check
    check.assert_none_left()


@pytest.fixture
def process_leak_check(tmp_path) -> Iterator[LeftoverCheck]:
    """``no_leftover_processes`` around the test, marked by its tmp path and DAGSTER_HOME, checked
    at teardown (after a failed test too: a leak is a leak). Request it after the fixtures that
    start long-lived servers, so those exist before it looks."""
    with no_leftover_processes(str(tmp_path), os.environ.get("DAGSTER_HOME", "")) as check:
        yield check

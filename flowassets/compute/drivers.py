"""Which process drives a run, and whether it still exists.

A run started by ``flowassets run``/``resume`` or by the in-process executor is driven by one
process: when that process is killed (``kill -9``, the OOM killer, a reboot) nothing reports the
run's end, and Dagster shows it STARTED forever; its own run monitoring only watches runs a run
launcher started, with a daemon. So each such run is tagged with its driver (host, pid, the
pid's start time, the boot), and anyone on the same machine can tell a dead driver from a live
one without a heartbeat: same boot, and a process with that pid and that start time exists.
A pid alone is not enough: pids are reused.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

DRIVER_TAG = "flowassets/driver"
DRIVER_HOST_TAG = "flowassets/driver-host"  # its own tag, so runs can be filtered by host


@dataclass(frozen=True)
class Driver:
    host: str
    pid: int
    started: str  # the process's start time in clock ticks since boot ("" where unknown)
    boot: str  # the kernel's boot id ("" where unknown)

    def tag(self) -> str:
        return f"pid={self.pid} host={self.host} start={self.started} boot={self.boot}"

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def this_driver() -> Driver:
    pid = os.getpid()
    return Driver(socket.gethostname(), pid, _start_ticks(pid), _boot_id())


def driver_tags(driver: Driver | None = None) -> dict[str, str]:
    driver = driver or this_driver()
    return {DRIVER_TAG: driver.tag(), DRIVER_HOST_TAG: driver.host}


def parse_driver(tag: str | None) -> Driver | None:
    if not tag:
        return None
    fields = dict(part.split("=", 1) for part in tag.split() if "=" in part)
    try:
        return Driver(fields["host"], int(fields["pid"]), fields.get("start", ""), fields.get("boot", ""))
    except (KeyError, ValueError):
        return None


def driver_gone(driver: Driver, run_created_at: float) -> bool:
    """True only when the driver is certainly gone: it ran on this machine and no process with
    its pid and start time exists in this boot, or this machine booted after the run was made.
    Anything else (another machine, no way to tell) is False: a live run is never declared dead."""
    if driver.host != socket.gethostname():
        return False
    boot = _boot_id()
    if driver.boot and boot and driver.boot != boot:
        booted_at = _boot_time()
        return booted_at is not None and booted_at > run_created_at
    if not pid_exists(driver.pid):
        return True
    fields = _stat_fields(driver.pid)
    if not fields:  # no /proc here: a process with that pid exists, nothing more to tell
        return False
    # Killed but not yet reaped by its parent (a zombie), or the pid reused by a later process.
    return fields[0] == "Z" or bool(driver.started and len(fields) > 19 and fields[19] != driver.started)


def die_with_parent(parent: int, sig: int) -> None:
    """Ask Linux to send ``sig`` to this (child) process when its parent dies, so a task or a
    step process does not outlive a killed driver and go on writing into a run that is about
    to be resumed. Elsewhere the parent's own cleanup is all there is."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os.kill(os.getpid(), sig)


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat from field 3 on (after the parenthesised command, which may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()
    except OSError:
        return []


def _start_ticks(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else ""  # field 22: starttime




def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None

"""Run one command as a subprocess and measure it: wall time, peak RSS, peak PSS of its tree.

Two memory figures, because each hides something:

- ``peak_rss_mb``: the largest resident set of any single process in the tree (``wait4`` on the
  child, which the kernel folds up from every waited-for descendant). Exact, but one process.
- ``peak_tree_pss_mb``: the largest sum of PSS over the whole process tree, sampled from
  ``/proc`` every ``interval`` seconds. PSS splits copy-on-write pages between the processes
  sharing them, so 16 forked children of a 300 MB parent are not counted as 16 x 300 MB.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float  # user + system time of the whole tree: steadier than wall time on a busy host
    returncode: int
    peak_rss_mb: float
    peak_tree_pss_mb: float
    stdout_path: str
    stderr_path: str

    def tail(self, lines: int = 30) -> str:
        text = Path(self.stderr_path).read_text(errors="replace").splitlines()
        text += Path(self.stdout_path).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str], log_prefix: Path,
                 interval: float = 0.1) -> Measured:
    out_path, err_path = Path(f"{log_prefix}.out"), Path(f"{log_prefix}.err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        sampler = _TreeSampler(proc.pid, interval)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        sampler.stop()
    return Measured(wall, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss / 1024, sampler.peak_kb / 1024,
                    str(out_path), str(err_path))


class _TreeSampler(threading.Thread):
    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in _tree(self.root)))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0

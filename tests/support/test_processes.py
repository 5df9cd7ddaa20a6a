"""The leftover-process check names what a block leaves behind, and only that."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import concerning, no_leftover_processes


def _orphan(*argv: str | Path) -> int:
    """Start ``argv`` through a shell that exits at once: the process is reparented to init, as a
    compute-log tail whose driver and watcher are gone."""
    command = " ".join(shlex.quote(str(a)) for a in argv)
    out = subprocess.run(["sh", "-c", f"cd / || exit 1; {command} >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def _stop(*pids: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _orphan_tail(log: Path) -> int:
    log.touch()
    return _orphan("tail", "-F", "-c", "+0", log)


def test_an_orphaned_tail_under_the_tmp_path_is_named(tmp_path):
    pids: list[int] = []
    try:
        with pytest.raises(AssertionError) as failure:
            with no_leftover_processes(str(tmp_path), wait_s=0.5):
                pids.append(_orphan_tail(tmp_path / "run.out"))
        message = str(failure.value)
        assert "1 process(es) left behind" in message
        assert f"pid {pids[0]} (" in message and f"tail -F -c +0 {tmp_path / 'run.out'}" in message
    finally:
        _stop(*pids)


def test_what_exits_in_time_or_is_allowed_or_was_there_before_is_not_named(tmp_path):
    before = _orphan_tail(tmp_path / "before.out")
    kept = subprocess.Popen(["sleep", "30"])
    try:
        with no_leftover_processes(str(tmp_path), wait_s=5) as check:
            check.allow(kept.pid)
            short = subprocess.Popen(["sh", "-c", "sleep 0.3"])  # exits within the wait
        assert short.wait(timeout=5) == 0
    finally:
        _stop(before)
        kept.kill()
        kept.wait()


def test_an_orphaned_watcher_is_found_by_the_tail_it_watches(tmp_path):
    """``watch_orphans.py PARENT TAIL`` names no path and has left the test's process tree: it
    concerns the test through its tail."""
    tail = _orphan_tail(tmp_path / "run.err")
    scripts = Path(str(tmp_path) + "-scripts")  # outside the marker: found by the pid only
    scripts.mkdir()
    script = scripts / "watch_orphans.py"
    script.write_text("import time\ntime.sleep(30)\n")
    watcher = _orphan(sys.executable, script, "999999", str(tail))
    try:
        found: set[int] = set()
        deadline = time.monotonic() + 5  # until the shell's background job has exec'd python
        while not {tail, watcher} <= found and time.monotonic() < deadline:
            time.sleep(0.05)
            found = {p.pid for p in concerning([str(tmp_path / "run.err")]).values()}
        assert {tail, watcher} <= found
    finally:
        _stop(tail, watcher)

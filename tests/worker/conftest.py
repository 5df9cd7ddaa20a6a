"""The warm worker is on for the tests in this folder, and off everywhere else in the suite
(tests/conftest.py sets FLOWASSETS_NO_DAEMON=1); each test prints which one it used.

Each test gets a worker directory of its own (short, under /tmp: a Unix socket path holds 108
bytes), so tests running at the same time under xdist never share a worker; the directory's
workers are stopped when the test ends. A module can share one across its tests by defining a
module-scoped ``worker_dir`` (test_cli_warm.py does).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300,
        **kwargs) -> subprocess.CompletedProcess:
    """The command as a user runs it (``python -m`` takes the console script's path: main())."""
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env=os.environ.copy() if env is None else env, **kwargs)


def statuses(directory: str) -> list[dict]:
    from flowassets.cli.worker.command import status_of

    found = [status_of(path) for path in sorted(glob.glob(os.path.join(directory, "w-*.sock")))]
    return [s for s in found if s]


def start_worker(cwd: Path, env: dict[str, str] | None = None) -> dict:
    """``flowassets worker start``: returns the worker's status once it answers."""
    env = os.environ.copy() if env is None else env
    done = cli("worker", "start", cwd=cwd, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    pid = int(done.stdout.split()[1])
    return next(s for s in statuses(env["FLOWASSETS_WORKER_DIR"]) if s["pid"] == pid)


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def stop_workers(directory: str) -> None:
    env = {**os.environ, "FLOWASSETS_WORKER_DIR": directory}
    env.pop("FLOWASSETS_NO_DAEMON", None)
    pids = [s["pid"] for s in statuses(directory)]
    subprocess.run([sys.executable, "-m", "flowassets.cli.main", "worker", "stop"], env=env,
                   capture_output=True, timeout=120, cwd=directory)
    for pid in pids:
        if not wait_gone(pid, 60):
            os.kill(pid, signal.SIGKILL)


def private_worker_dir():
    path = tempfile.mkdtemp(prefix="faw-", dir="/tmp")
    yield path
    stop_workers(path)
    shutil.rmtree(path, ignore_errors=True)


worker_dir = pytest.fixture(private_worker_dir)


@pytest.fixture(autouse=True)
def worker_on(isolated_store, worker_dir, monkeypatch):
    monkeypatch.delenv("FLOWASSETS_NO_DAEMON", raising=False)
    monkeypatch.setenv("FLOWASSETS_WORKER_DIR", worker_dir)
    print(f"flowassets CLI worker: on (FLOWASSETS_WORKER_DIR={worker_dir})")
    yield worker_dir

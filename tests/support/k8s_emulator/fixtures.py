"""pytest fixtures: one emulator process per pytest worker, a fresh namespace per test.

Import them into a conftest.py::

    from tests.support.k8s_emulator.fixtures import k8s_emulator, k8s_namespace  # noqa: F401

``k8s_emulator`` yields a ``RunningEmulator`` (port, kubeconfig path, ``core()``/``batch()``
clients); ``k8s_namespace`` creates a namespace for one test and deletes it (and so kills every
pod process in it) afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]
# Variables the test harness sets per test; pods get only what their spec gives them, as on a cluster.
_PER_TEST_ENV = ("DAGSTER_HOME", "FLOWASSETS_", "KUBECONFIG", "PYTEST_")


@dataclass(frozen=True)
class RunningEmulator:
    port: int
    kubeconfig: Path
    state_dir: Path
    pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api_client(self):
        """A kubernetes ApiClient for this emulator, without touching the global default config."""
        import kubernetes

        config = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=config)
        return kubernetes.client.ApiClient(config)

    def core(self):
        import kubernetes

        return kubernetes.client.CoreV1Api(self.api_client())

    def batch(self):
        import kubernetes

        return kubernetes.client.BatchV1Api(self.api_client())


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll until ``check()`` is truthy and return it; the deadline only makes a hang fail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(state_dir: Path, workdir: Path = REPO, timeout_s: float = 30.0,
                   extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, RunningEmulator]:
    """Start ``python -m tests.support.k8s_emulator`` in its own process group and wait for it."""
    import urllib.request

    state_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PER_TEST_ENV)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log = (state_dir / "emulator.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.k8s_emulator", "--port", str(port), "--state-dir",
         str(state_dir), "--workdir", str(workdir), *extra_args],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    log.close()
    emulator = RunningEmulator(port, state_dir / "kubeconfig.yaml", state_dir, proc.pid)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"k8s emulator exited with {proc.returncode}; see {state_dir}/emulator.log")
        try:
            urllib.request.urlopen(f"{emulator.url}/version", timeout=1).read()
            return proc, emulator
        except OSError:
            time.sleep(0.1)
    stop_emulator(proc)
    raise RuntimeError(f"k8s emulator did not answer in {timeout_s:.0f}s; see {state_dir}/emulator.log")


def stop_emulator(proc: subprocess.Popen) -> None:
    """SIGTERM lets the emulator kill its container process groups; SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def k8s_emulator(tmp_path_factory) -> Iterator[RunningEmulator]:
    proc, emulator = start_emulator(tmp_path_factory.mktemp("k8s-emulator"))
    try:
        yield emulator
    finally:
        stop_emulator(proc)


@pytest.fixture
def k8s_namespace(k8s_emulator: RunningEmulator) -> Iterator[str]:
    import kubernetes

    name = f"t-{uuid.uuid4().hex[:10]}"
    core = k8s_emulator.core()
    core.create_namespace(kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)

"""pytest fixtures: one emulator process per pytest worker, a fresh namespace per test.

Import them into a conftest.py::

    from tests.support.k8s_emulator.fixtures import k8s_emulator, k8s_namespace  # noqa: F401

``k8s_emulator`` yields a ``RunningEmulator`` (port, kubeconfig path, ``core()``/``batch()``
clients, and the ``/_emulator`` endpoints: ``requests()``, ``pods()``, ``add_fault()``, ...);
``k8s_namespace`` creates a namespace for one test and deletes it (and so kills every pod process
in it) afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from ..servers import free_port

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

    # --- /_emulator: what a test observes and injects (README.md, "Test endpoints") ---

    def emulator_call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One ``/_emulator/<path>`` request; ``None`` query values are left out. Raises
        ``urllib.error.HTTPError`` (with the Status body) on an error answer."""
        params = {k: ("true" if v is True else "false" if v is False else v) for k, v in query.items()
                  if v is not None}
        url = f"{self.url}/_emulator/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def requests(self, since: int | None = None, namespace: str | None = None, verb: str | None = None,
                 resource: str | None = None, label_selector: bool | None = None) -> list[dict]:
        """The API requests served (oldest first) after sequence number ``since``, filtered. Each:
        ``seq, time, method, path, verb, group, version, plural, resource, kind, namespace, name,
        subresource, labelSelector, fieldSelector, status, durationMs, userAgent``."""
        return self.emulator_call("GET", "requests", since=since, namespace=namespace, verb=verb,
                                  resource=resource, labelSelector=label_selector)["requests"]

    def request_counts(self, since: int | None = None, namespace: str | None = None,
                       label_selector: bool | None = None) -> dict[str, int]:
        """``{"<verb> <resource>": n}``, e.g. ``{"create jobs": 3, "list pods": 12, "log pods": 3}``."""
        return self.emulator_call("GET", "requests", since=since, namespace=namespace,
                                  labelSelector=label_selector, records=False)["counts"]

    def request_mark(self) -> int:
        """The sequence number of the last request served: pass it as ``since`` later."""
        return self.emulator_call("GET", "requests", since=2**62, records=False)["last"]

    def reset_requests(self) -> int:
        """Forget every request record; returns the last sequence number (numbering goes on)."""
        return self.emulator_call("POST", "requests/reset")["last"]

    def pods(self, namespace: str | None = None, label_selector: str | None = None,
             job: str | None = None) -> list[dict]:
        """A record of every pod ever created (deleted ones too), in creation order: ``uid, name,
        namespace, labels, job, createdAt, scheduledAt, startedAt, finishedAt, deletedAt`` (epoch
        seconds, float, or None), ``phase, reason, exitCode, containers, fault, faultRule``."""
        return self.emulator_call("GET", "pods", namespace=namespace, labelSelector=label_selector,
                                  job=job)["pods"]

    def max_concurrent_pods(self, namespace: str | None = None, label_selector: str | None = None) -> int:
        """The most pods whose processes ran at the same moment (a pod still running counts up to
        now; a pod that ends at the instant another starts does not overlap it)."""
        return max_concurrent(self.pods(namespace, label_selector))

    def add_fault(self, namespace: str | None, selector: str, fault: str, count: int = 1) -> dict:
        """Inject ``fault`` (``oomkilled[:S]``, ``evicted[:S]``, ``exit:N``, ``unschedulable``,
        ``imagepull``) into the next ``count`` pods created in ``namespace`` (None: any) whose
        labels match ``selector``. Returns the rule: ``id, namespace, selector, fault, count,
        remaining, createdAt, hits`` (``hits``: ``[{name, namespace, uid}]``)."""
        return self.emulator_call("POST", "faults", {"namespace": namespace, "selector": selector,
                                                     "fault": fault, "count": count})

    def faults(self, namespace: str | None = None) -> list[dict]:
        """The fault rules (used-up ones too, with ``remaining`` 0)."""
        return self.emulator_call("GET", "faults", namespace=namespace)["faults"]

    def clear_faults(self, namespace: str | None = None, rule_id: int | None = None) -> int:
        """Remove every rule, a namespace's rules, or one rule; returns how many were removed."""
        return self.emulator_call("DELETE", "faults", namespace=namespace, id=rule_id)["removed"]


def max_concurrent(pods: list[dict], now: float | None = None) -> int:
    """Peak number of overlapping ``[startedAt, finishedAt)`` intervals of pod records."""
    end_of_running = time.time() if now is None else now
    edges = sorted([(p["startedAt"], 1) for p in pods if p["startedAt"] is not None]
                   + [(p["finishedAt"] if p["finishedAt"] is not None else end_of_running, -1)
                      for p in pods if p["startedAt"] is not None])
    peak = level = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """Poll until ``check()`` is truthy and return it; the deadline only makes a hang fail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_emulator(state_dir: Path, workdir: Path = REPO, timeout_s: float = 30.0,
                   extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, RunningEmulator]:
    """Start ``python -m tests.support.k8s_emulator`` in its own process group and wait for it."""
    import urllib.request

    state_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
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

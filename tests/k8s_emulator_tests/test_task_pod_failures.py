"""How a foreach step whose tasks are Kubernetes pods (one Job per task) fails, end to end.

Each test reads one sentence of the issue: a task pod that fails fails the step with a message
naming the flow, step, task, pod and Kubernetes reason, and its sibling pods are deleted; a pod
that cannot be scheduled or cannot pull its image fails the step without waiting 600 s; @catch
records a pod killed on its last attempt; @timeout is each task pod's Job deadline and fails a
slow task; --max-num-splits refuses a foreach before any task pod; a local store is refused
before any run or pod.

Real parts, as in test_task_pods.py: the Kubernetes API emulator (faults injected per task by
fault rules on the task's labels), SeaweedFS as the S3 store the pods share, PostgreSQL holding
the Dagster instance. Every run is ``flowassets run`` in a subprocess with a time limit.

A run spends most of its time waiting (process start-up, polls), so the module starts every
run at once (``runs``), each flow under its own name so that a fault rule hits only its own
run's pods, and each test waits for its run and reads it (the local-store test runs last, alone,
so that any request the namespace sees is its own). How fast a failure was acted on is measured
on the pods' own records, which CPU load on the test machine does not stretch.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import dagster as dg
import pytest

from flowassets.compute.kubernetes import DEADLINE_GRACE_S
from tests.support.k8s_emulator.fixtures import wait_for
from tests.support.k8s_emulator.instance import write_k8s_instance
from tests.support.postgres import postgres_server  # noqa: F401 - fixture by name
from tests.support.servers import create_bucket, s3_store_server  # noqa: F401 - fixture by name

FLOW_FILE = Path(__file__).with_name("flows") / "failing_tasks_flows.py"
pytestmark = pytest.mark.xdist_group("k8s_emulator")
TASKS = "app.kubernetes.io/component=flowassets-task"
PENDING_TIMEOUT_ENV = "FLOWASSETS_KUBERNETES_PENDING_TIMEOUT_S"
#: Only so that a hang fails the test instead of the session.
RUN_LIMIT_S = 300


@dataclass(frozen=True)
class Scenario:
    flow: str
    args: tuple[str, ...] = ()
    #: (foreach index of the task in step work, emulator fault, how many of its pods)
    fault: tuple[int, str, int] | None = None
    env: Mapping[str, str] = field(default_factory=dict)


SCENARIOS = {
    # tasks sleep 600 s: only deleting them ends the run within RUN_LIMIT_S
    "exit": Scenario("FailingTasksFlow", ("--sleep_s", "600"), (1, "exit:3", 1)),
    "unschedulable": Scenario("UnschedulableTasksFlow", (), (2, "unschedulable", 1),
                              {PENDING_TIMEOUT_ENV: "3"}),
    "imagepull": Scenario("ImagePullTasksFlow", (), (2, "imagepull", 1)),  # the 600 s default stays
    "catch": Scenario("CatchingTasksFlow", (), (2, "oomkilled:0", 2)),  # both attempts' pods
    "timeout": Scenario("TimeoutTasksFlow"),
    "splits": Scenario("WideForeachFlow", ("--max-num-splits", "4")),
}


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    run_id: str | None


@dataclass
class Runs:
    """The module's cluster: a K8sRunLauncher instance on PostgreSQL whose pods share an S3
    bucket (as the ``cluster`` fixture of test_task_pods.py), one namespace, and the runs."""

    emulator: object
    namespace: str
    home: Path
    env: dict[str, str]  # the store settings every process and pod gets, and DAGSTER_HOME
    started: dict[str, tuple[subprocess.Popen, float]] = field(default_factory=dict)
    done: dict[str, Ran] = field(default_factory=dict)

    def start(self, name: str, flow: str, *args: str, env: Mapping[str, str]) -> None:
        """``flowassets run`` of one flow of FLOW_FILE with ``--max-workers 3``, in the background."""
        self.run_id_file(name).unlink(missing_ok=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW_FILE), "--flow", flow,
             "--max-workers", "3", "--run-id-file", str(self.run_id_file(name)), "--quiet", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(env), cwd=self.home,
            start_new_session=True)
        self.started[name] = (process, time.monotonic())

    def result(self, name: str) -> Ran:
        if name not in self.done:
            process, started = self.started[name]
            try:
                left = started + RUN_LIMIT_S - time.monotonic()
                stdout, stderr = process.communicate(timeout=max(1.0, left))
            except subprocess.TimeoutExpired:
                _kill(process)
                stdout, stderr = process.communicate()
                self.done[name] = Ran(process.returncode, stdout, stderr, None)
                pytest.fail(f"flowassets run ({name}) did not end in {RUN_LIMIT_S} s:\n{stdout}\n{stderr}")
            path = self.run_id_file(name)
            self.done[name] = Ran(process.returncode, stdout, stderr,
                                  path.read_text() if path.exists() else None)
        return self.done[name]

    def run_id_file(self, name: str) -> Path:
        return self.home / f"{name}.run_id"

    def task_pods(self, run_id: str) -> list[dict]:
        return self.emulator.pods(namespace=self.namespace,
                                  label_selector=f"flowassets.io/run-id={run_id},{TASKS}")

    def task_jobs(self, run_id: str) -> list:
        return self.emulator.batch().list_namespaced_job(
            self.namespace, label_selector=f"flowassets.io/run-id={run_id},{TASKS}").items

    def settled(self, run_id: str) -> list[dict]:
        """The run's task pod records once none runs or waits any more (a deleted pod's process
        gets SIGTERM and takes a moment to exit)."""
        def check() -> list[dict] | None:
            pods = self.task_pods(run_id)
            return None if any(p["finishedAt"] is None and (p["deletedAt"] is None or p["startedAt"])
                               for p in pods) else pods
        return wait_for(f"every task pod of run {run_id} to stop", check, 60)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its step processes too
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def runs(k8s_emulator, s3_store_server, postgres_server, tmp_path_factory) -> Iterator[Runs]:
    import kubernetes

    namespace = f"t-{uuid.uuid4().hex[:10]}"
    core = k8s_emulator.core()
    meta = kubernetes.client.V1ObjectMeta(name=namespace)
    core.create_namespace(kubernetes.client.V1Namespace(metadata=meta))
    database = postgres_server.create_database()
    home = tmp_path_factory.mktemp("task-pod-failures")
    state: Runs | None = None
    try:
        bucket = create_bucket("s3", s3_store_server)
        store_env = {"FLOWASSETS_DATASTORE": "s3", "FLOWASSETS_DATASTORE_SYSROOT_S3": bucket.root,
                     "FLOWASSETS_KUBERNETES_POLL_S": "0.5", **s3_store_server.env}
        write_k8s_instance(home, k8s_emulator.kubeconfig, namespace, store_env, postgres_server.url(database))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.get_runs_count()  # its tables exist before six processes open it at once
        for scenario in SCENARIOS.values():
            if scenario.fault:
                index, fault, count = scenario.fault
                selector = (f"flowassets.io/flow={scenario.flow},flowassets.io/step=work,"
                            f"flowassets.io/foreach-index={index}")
                k8s_emulator.add_fault(namespace, selector, fault, count)
        state = Runs(k8s_emulator, namespace, home, {**store_env, "DAGSTER_HOME": str(home)})
        base = {k: v for k, v in os.environ.items()
                if (not k.startswith("FLOWASSETS_") or k == "FLOWASSETS_NO_DAEMON") and k != "DAGSTER_HOME"}
        for name, scenario in SCENARIOS.items():
            state.start(name, scenario.flow, *scenario.args, env={**base, **state.env, **scenario.env})
        yield state
    finally:
        for process, _ in (state.started.values() if state else ()):
            if process.poll() is None:
                _kill(process)
                process.communicate()
        core.delete_namespace(namespace)
        try:
            postgres_server.execute("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 - the server is removed at session end anyway
            pass


@pytest.fixture
def run_env(runs, monkeypatch) -> Runs:
    """This process reads the runs' store and instance (the client, DagsterInstance.get())."""
    for key, value in runs.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", raising=False)
    return runs


def index_of(pod: dict) -> int:
    return int(pod["labels"]["flowassets.io/foreach-index"])


def test_a_failing_task_pod_fails_the_step_naming_task_pod_and_exit_code_and_stops_the_others(runs):
    """Task 1's pod exits with code 3 (its image's entrypoint fails) while tasks 0 and 2 run
    (they would sleep 600 s): the step fails at once naming flow, step, foreach index, pod and
    exit code; the running pods are deleted and tasks 3..5 never get a pod."""
    ran = runs.result("exit")
    assert ran.code != 0 and ran.run_id is not None, ran.stdout + ran.stderr

    pods = runs.settled(ran.run_id)
    by_index = {index_of(p): p for p in pods}
    assert sorted(by_index) == [0, 1, 2] and len(pods) == 3, [p["name"] for p in pods]
    failed = by_index[1]
    assert (failed["phase"], failed["reason"], failed["exitCode"]) == ("Failed", "Error", 3), failed
    for index in (0, 2):
        other = by_index[index]
        assert other["startedAt"] is not None, f"task {index}'s pod never ran: {other}"
        assert other["deletedAt"] is not None, f"task {index}'s pod was not deleted: {other}"
        assert other["phase"] != "Succeeded" and other["deletedAt"] <= other["finishedAt"], other
        assert other["deletedAt"] - failed["finishedAt"] < 30, "deleted long after the failure"
    assert [j.metadata.name for j in runs.task_jobs(ran.run_id)
            if not j.metadata.deletion_timestamp] == [failed["job"]]

    message = ran.stderr
    assert "Step 'work' failed" in message, message
    assert "flow FailingTasksFlow, step 'work', task 2-1 (foreach index 1 of 6" in message, message
    assert f"pod {runs.namespace}/{failed['name']}" in message, message
    assert "Error, exit code 3" in message, message
    summary = message.split("Step 'work' failed:", 1)[1]
    assert summary.count("emulator fault exit:3") == 1, "the pod's last log lines, shown once"
    assert "emulator fault exit:3: the container's entrypoint exits with code 3\n" in summary, \
        "the pod's last log lines, as logged"


@pytest.mark.parametrize("name, reasons", [
    ("unschedulable", ("Unschedulable",)),
    ("imagepull", ("ErrImagePull", "ImagePullBackOff")),
], ids=["unschedulable", "imagepull"])
def test_a_task_pod_that_cannot_start_fails_the_step_without_waiting_600_s(runs, name, reasons):
    """Task 2's pod never starts: the step fails naming the task, the pod and the Kubernetes
    reason, after the pending timeout (3 s here: Unschedulable) or at once (an image pull error,
    with the default 600 s pending timeout), and the pod is deleted."""
    scenario = SCENARIOS[name]
    ran = runs.result(name)
    assert ran.code != 0 and ran.run_id is not None, ran.stdout + ran.stderr

    pods = runs.settled(ran.run_id)
    (stuck,) = [p for p in pods if index_of(p) == 2]
    assert stuck["reason"] == reasons[0] and stuck["startedAt"] is None, stuck
    assert stuck["deletedAt"] is not None, "the pod that cannot start was left behind"
    waited = stuck["deletedAt"] - stuck["createdAt"]
    least = 2.5 if PENDING_TIMEOUT_ENV in scenario.env else 0
    assert least <= waited < 60, f"given up on after {waited:.1f} s"
    message = ran.stderr
    assert f"flow {scenario.flow}, step 'work', task 2-2 (foreach index 2 of 6" in message, message
    assert f"pod {runs.namespace}/{stuck['name']}" in message, message
    assert any(reason in message for reason in reasons), message
    if name == "unschedulable":
        assert re.search(r"stayed Pending for \d+ s, unschedulable \(Unschedulable\): 0/1 nodes are "
                         r"available: 1 Insufficient cpu\.\n", message), message
    else:
        assert "not found" in message, "the pull's own error (the kubelet's Failed event)"


def test_catch_records_a_task_pod_oomkilled_on_its_last_attempt(run_env):
    """@catch + @retry(times=1): task 2's pod is OOMKilled on both attempts (two pods). The run
    succeeds, task 2's ``failure`` records the crash, the other tasks' values are there."""
    from flowassets.client import Flow
    from flowassets.runtime.task import CaughtException

    runs = run_env
    ran = runs.result("catch")
    assert ran.code == 0, ran.stdout + ran.stderr

    pods = runs.settled(ran.run_id)
    crashed = sorted((p for p in pods if index_of(p) == 2),
                     key=lambda p: p["labels"]["flowassets.io/attempt"])
    assert [(p["labels"]["flowassets.io/attempt"], p["reason"]) for p in crashed] == [
        ("0", "OOMKilled"), ("1", "OOMKilled")], crashed
    assert sorted(index_of(p) for p in pods if p["phase"] == "Succeeded") == [0, 1, 3, 4, 5]

    data = Flow("CatchingTasksFlow")[ran.run_id].data
    assert data.values == {0: 0, 1: 10, 2: None, 3: 30, 4: 40, 5: 50}
    assert [i for i, f in data.failures.items() if f is not None] == [2]
    caught = data.failures[2]
    assert isinstance(caught, CaughtException) and caught.type == "TaskCrashed", caught
    assert "OOMKilled" in caught.message and crashed[1]["name"] in caught.message, caught


def test_timeout_is_each_task_pods_job_deadline_and_fails_a_slow_task(runs):
    """@timeout(seconds=4): every task Job's activeDeadlineSeconds is 4 + the grace; task 5
    sleeps past 4 s and fails with the @timeout message (the runtime's, long before the Job's
    deadline)."""
    ran = runs.result("timeout")
    assert ran.code != 0 and ran.run_id is not None, ran.stdout + ran.stderr
    message = ran.stderr
    assert "flow TimeoutTasksFlow, step 'work', task 2-5 (foreach index 5 of 6" in message, message
    assert "flow TimeoutTasksFlow, step 'work': @timeout of 4 s exceeded" in message, message

    pods = runs.settled(ran.run_id)
    (slow,) = [p for p in pods if index_of(p) == 5]
    assert slow["phase"] == "Failed" and slow["exitCode"] == 1, slow  # the worker's own failure
    assert slow["finishedAt"] - slow["startedAt"] < 60, slow
    # Jobs still running when the step failed were deleted; every other one is still there.
    jobs = {j.metadata.name: j.spec.active_deadline_seconds for j in runs.task_jobs(ran.run_id)}
    assert slow["job"] in jobs and set(jobs) == {p["job"] for p in pods if p["deletedAt"] is None}
    assert jobs == {name: 4 + DEADLINE_GRACE_S for name in jobs}


def test_max_num_splits_refuses_a_wide_foreach_before_any_task_pod(runs):
    """--max-num-splits 4 and a 6-wide foreach: the start step fails naming the limit, and the
    run made no task Job and no pod."""
    ran = runs.result("splits")
    assert ran.code != 0 and ran.run_id is not None, ran.stdout + ran.stderr
    assert "Step 'start' failed" in ran.stderr, ran.stderr
    assert "has 6 splits, more than --max-num-splits=4" in ran.stderr, ran.stderr
    assert runs.task_jobs(ran.run_id) == []
    assert runs.task_pods(ran.run_id) == []


def test_a_local_store_is_refused_before_any_run_or_pod(run_env):
    """The instance has a K8sRunLauncher but the store is this machine's folder (no
    FLOWASSETS_DATASTORE_LOCAL_SHARED): ``flowassets run`` refuses, naming FLOWASSETS_DATASTORE,
    before it creates a run or asks the cluster for anything."""
    runs = run_env
    for name in SCENARIOS:  # so that nothing else asks the cluster for anything meanwhile
        runs.result(name)
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLOWASSETS_DATASTORE", "FLOWASSETS_DATASTORE_LOCAL_SHARED")}
    env["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"] = str(runs.home / "local-store")
    with dg.DagsterInstance.get() as instance:
        before = instance.get_runs_count()
    mark = runs.emulator.request_mark()
    runs.start("local", "FailingTasksFlow", env=env)
    ran = runs.result("local")
    assert ran.code != 0, ran.stdout + ran.stderr
    assert "FLOWASSETS_DATASTORE=s3" in ran.stderr and "Nothing was launched" in ran.stderr, ran.stderr
    assert str(runs.home / "local-store") in ran.stderr, ran.stderr
    assert ran.run_id is None
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == before
    assert runs.emulator.requests(since=mark, namespace=runs.namespace) == []

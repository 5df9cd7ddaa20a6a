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
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from flowassets.compute.kubernetes import DEADLINE_GRACE_S
from tests.support.k8s_emulator.fixtures import wait_for
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - fixtures by name
from tests.support.servers import create_bucket, s3_store_server  # noqa: F401 - fixtures by name

FLOW_FILE = Path(__file__).with_name("flows") / "failing_tasks_flows.py"
pytestmark = pytest.mark.xdist_group("k8s_emulator")
TASKS = "app.kubernetes.io/component=flowassets-task"
#: Only so that a hang fails the test instead of the session: how fast a failure is seen is
#: measured on the pods' own records, which CPU load on the test machine does not stretch.
RUN_LIMIT_S = 300


@dataclass(frozen=True)
class Cluster:
    emulator: object
    namespace: str
    home: Path
    env: dict[str, str]  # the store settings every process and pod gets


@pytest.fixture
def cluster(k8s_emulator, k8s_namespace, s3_store_server, postgres_server, postgres_db,
            monkeypatch) -> Cluster:
    """A K8sRunLauncher instance on PostgreSQL whose pods share an S3 bucket (as in
    test_task_pods.py)."""
    bucket = create_bucket("s3", s3_store_server)
    env = {"FLOWASSETS_DATASTORE": "s3", "FLOWASSETS_DATASTORE_SYSROOT_S3": bucket.root,
           "FLOWASSETS_KUBERNETES_POLL_S": "0.5", **s3_store_server.env}
    home = Path(os.environ["DAGSTER_HOME"])
    launcher = {
        "service_account_name": "default", "instance_config_map": "dagster-instance",
        "dagster_home": str(home), "job_image": "flowassets-emulated:local",
        "job_namespace": k8s_namespace, "load_incluster_config": False,
        "kubeconfig_file": str(k8s_emulator.kubeconfig),
        "env_vars": [f"{k}={v}" for k, v in env.items()],
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": launcher},
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
        "storage": {"postgres": {"postgres_url": postgres_server.url(postgres_db)}},
        "telemetry": {"enabled": False},
    }))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", raising=False)
    monkeypatch.delenv("FLOWASSETS_DATASTORE_LOCAL_SHARED", raising=False)
    monkeypatch.delenv("FLOWASSETS_KUBERNETES_PENDING_TIMEOUT_S", raising=False)
    return Cluster(k8s_emulator, k8s_namespace, home, env)


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    run_id: str | None
    seconds: float


def flowassets_run(cluster: Cluster, flow: str, *args: str, env: dict[str, str] | None = None) -> Ran:
    """``flowassets run`` of one flow of FLOW_FILE with ``--max-workers 3``."""
    run_id_file = cluster.home / f"{flow}.run_id"
    run_id_file.unlink(missing_ok=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW_FILE), "--flow", flow,
         "--max-workers", "3", "--run-id-file", str(run_id_file), "--quiet", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=RUN_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its step processes too
        stdout, stderr = process.communicate()
        pytest.fail(f"flowassets run {flow} did not end in {RUN_LIMIT_S} s:\n{stdout}\n{stderr}")
    return Ran(process.returncode, stdout, stderr,
               run_id_file.read_text() if run_id_file.exists() else None, time.monotonic() - started)


def task_pods(cluster: Cluster, run_id: str) -> list[dict]:
    return cluster.emulator.pods(namespace=cluster.namespace,
                                 label_selector=f"flowassets.io/run-id={run_id},{TASKS}")


def index_of(pod: dict) -> int:
    return int(pod["labels"]["flowassets.io/foreach-index"])


def fault_on(cluster: Cluster, flow: str, index: int, fault: str, count: int = 1) -> dict:
    """``fault`` on the next ``count`` pods of task ``index`` of step work of ``flow``."""
    return cluster.emulator.add_fault(
        cluster.namespace, f"flowassets.io/flow={flow},flowassets.io/step=work,"
        f"flowassets.io/foreach-index={index}", fault, count)


def settled(cluster: Cluster, run_id: str) -> list[dict]:
    """The run's task pod records once none is running or waiting any more (deleted pods'
    processes get SIGTERM and take a moment to exit)."""
    def check() -> list[dict] | None:
        pods = task_pods(cluster, run_id)
        busy = [p["name"] for p in pods if p["finishedAt"] is None and p["deletedAt"] is None]
        return None if busy else pods
    pods = wait_for(f"every task pod of run {run_id} to stop", check, 60)
    still = [p["name"] for p in pods if p["startedAt"] is not None and p["finishedAt"] is None]
    wait_for(f"the processes of deleted pods {still} to exit",
             lambda: all(p["finishedAt"] is not None or p["startedAt"] is None
                         for p in task_pods(cluster, run_id)), 60)
    return task_pods(cluster, run_id)


def test_a_failing_task_pod_fails_the_step_naming_task_pod_and_exit_code_and_stops_the_others(cluster):
    """Task 1's pod exits with code 3 (its image's entrypoint fails) while tasks 0 and 2 sleep:
    the step fails at once naming flow, step, foreach index, pod and exit code; the sleeping
    pods are deleted and tasks 3..5 never get a pod."""
    flow = "FailingTasksFlow"
    fault_on(cluster, flow, 1, "exit:3")
    ran = flowassets_run(cluster, flow, "--sleep_s", "600")
    assert ran.code != 0, ran.stdout + ran.stderr
    assert ran.run_id is not None, ran.stderr

    pods = settled(cluster, ran.run_id)
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
    jobs = cluster.emulator.batch().list_namespaced_job(
        cluster.namespace, label_selector=f"flowassets.io/run-id={ran.run_id},{TASKS}").items
    assert [j.metadata.name for j in jobs if not j.metadata.deletion_timestamp] == [failed["job"]]

    message = ran.stderr
    assert "Step 'work' failed" in message, message
    assert f"flow {flow}, step 'work', task 1 (foreach index 1 of 6" in message, message
    assert f"pod {cluster.namespace}/{failed['name']}" in message, message
    assert "Error, exit code 3" in message, message
    assert "emulator fault exit:3" in message, "the pod's last log lines are shown"


@pytest.mark.parametrize("fault, reasons, pending_timeout", [
    ("unschedulable", ("Unschedulable",), "3"),
    ("imagepull", ("ErrImagePull", "ImagePullBackOff"), None),  # the default 600 s stays
], ids=["unschedulable", "imagepull"])
def test_a_task_pod_that_cannot_start_fails_the_step_without_waiting_600_s(
        cluster, monkeypatch, fault, reasons, pending_timeout):
    """Task 2's pod never starts: the step fails naming the task, the pod and the Kubernetes
    reason, after the pending timeout (Unschedulable) or at once (an image pull error), not after
    the default 600 s; the pod is deleted."""
    flow = "FailingTasksFlow"
    if pending_timeout:
        monkeypatch.setenv("FLOWASSETS_KUBERNETES_PENDING_TIMEOUT_S", pending_timeout)
    fault_on(cluster, flow, 2, fault)
    ran = flowassets_run(cluster, flow)
    assert ran.code != 0, ran.stdout + ran.stderr

    pods = settled(cluster, ran.run_id)
    (stuck,) = [p for p in pods if index_of(p) == 2]
    assert stuck["reason"] == reasons[0] and stuck["startedAt"] is None, stuck
    assert stuck["deletedAt"] is not None, "the pod that cannot start was left behind"
    waited = stuck["deletedAt"] - stuck["createdAt"]
    assert (2.5 if pending_timeout else 0) <= waited < 60, f"given up on after {waited:.1f} s"
    message = ran.stderr
    assert f"flow {flow}, step 'work', task 2 (foreach index 2 of 6" in message, message
    assert f"pod {cluster.namespace}/{stuck['name']}" in message, message
    assert any(reason in message for reason in reasons), message
    if fault == "unschedulable":
        assert "stayed Pending for 3 s" in message and "Insufficient cpu" in message, message
    else:
        assert "not found" in message, "the pull's own error (the kubelet's Failed event)"


def test_catch_records_a_task_pod_oomkilled_on_its_last_attempt(cluster):
    """@catch + @retry(times=1): task 2's pod is OOMKilled on both attempts (two pods). The run
    succeeds, task 2's ``failure`` records the crash, the other tasks' values are there."""
    from flowassets.client import Flow
    from flowassets.runtime.task import CaughtException

    flow = "CatchingTasksFlow"
    fault_on(cluster, flow, 2, "oomkilled:0", count=2)
    ran = flowassets_run(cluster, flow)
    assert ran.code == 0, ran.stdout + ran.stderr

    pods = settled(cluster, ran.run_id)
    crashed = sorted((p for p in pods if index_of(p) == 2), key=lambda p: p["labels"]["flowassets.io/attempt"])
    assert [(p["labels"]["flowassets.io/attempt"], p["reason"]) for p in crashed] == [
        ("0", "OOMKilled"), ("1", "OOMKilled")], crashed
    assert sorted(index_of(p) for p in pods if p["phase"] == "Succeeded") == [0, 1, 3, 4, 5]

    data = Flow(flow)[ran.run_id].data
    assert data.values == {0: 0, 1: 10, 2: None, 3: 30, 4: 40, 5: 50}
    assert [i for i, f in data.failures.items() if f is not None] == [2]
    caught = data.failures[2]
    assert isinstance(caught, CaughtException) and caught.type == "TaskCrashed", caught
    assert "OOMKilled" in caught.message and crashed[1]["name"] in caught.message, caught


def test_timeout_is_each_task_pods_job_deadline_and_fails_a_slow_task(cluster):
    """@timeout(seconds=4): every task Job's activeDeadlineSeconds is 4 + the grace; task 5
    sleeps past 4 s and fails with the @timeout message (the runtime's, long before the Job's
    deadline)."""
    flow = "TimeoutTasksFlow"
    ran = flowassets_run(cluster, flow)
    assert ran.code != 0, ran.stdout + ran.stderr
    message = ran.stderr
    assert f"flow {flow}, step 'work', task 5 (foreach index 5 of 6" in message, message
    assert f"flow {flow}, step 'work': @timeout of 4 s exceeded" in message, message

    pods = settled(cluster, ran.run_id)
    (slow,) = [p for p in pods if index_of(p) == 5]
    assert slow["phase"] == "Failed" and slow["exitCode"] == 1, slow  # the worker's own failure
    assert slow["finishedAt"] - slow["containers"]["dagster"]["startedAt"] < 60, slow
    jobs = cluster.emulator.batch().list_namespaced_job(
        cluster.namespace, label_selector=f"flowassets.io/run-id={ran.run_id},{TASKS}").items
    assert slow["job"] in [j.metadata.name for j in jobs]
    assert {j.metadata.name: j.spec.active_deadline_seconds for j in jobs} == {
        j.metadata.name: 4 + DEADLINE_GRACE_S for j in jobs}


def test_max_num_splits_refuses_a_wide_foreach_before_any_task_pod(cluster):
    """--max-num-splits 4 and a 6-wide foreach: the start step fails naming the limit, and the
    run made no task Job and no pod."""
    mark = cluster.emulator.request_mark()
    ran = flowassets_run(cluster, "FailingTasksFlow", "--max-num-splits", "4")
    assert ran.code != 0, ran.stdout + ran.stderr
    assert "Step 'start' failed" in ran.stderr, ran.stderr
    assert "has 6 splits, more than --max-num-splits=4" in ran.stderr, ran.stderr
    jobs = cluster.emulator.batch().list_namespaced_job(
        cluster.namespace, label_selector=f"flowassets.io/run-id={ran.run_id},{TASKS}").items
    assert jobs == []
    assert task_pods(cluster, ran.run_id) == []
    assert cluster.emulator.requests(since=mark, verb="create", resource="jobs") == []


def test_a_local_store_is_refused_before_any_run_or_pod(cluster):
    """The instance has a K8sRunLauncher but the store is this machine's folder (no
    FLOWASSETS_DATASTORE_LOCAL_SHARED): ``flowassets run`` refuses, naming FLOWASSETS_DATASTORE,
    before it creates a run or asks the cluster for anything."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLOWASSETS_DATASTORE", "FLOWASSETS_DATASTORE_LOCAL_SHARED")}
    env["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"] = str(cluster.home / "local-store")
    mark = cluster.emulator.request_mark()
    ran = flowassets_run(cluster, "FailingTasksFlow", env=env)
    assert ran.code != 0, ran.stdout + ran.stderr
    assert "FLOWASSETS_DATASTORE=s3" in ran.stderr and "Nothing was launched" in ran.stderr, ran.stderr
    assert str(cluster.home / "local-store") in ran.stderr, ran.stderr
    assert ran.run_id is None
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 0
    assert cluster.emulator.requests(since=mark, verb="create", resource="jobs") == []
    assert cluster.emulator.pods(namespace=cluster.namespace) == []

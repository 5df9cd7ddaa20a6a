"""Scale-out end to end: every foreach task of a @kubernetes step is a pod of its own.

Real parts: the Kubernetes API emulator (tests/support/k8s_emulator: API server, scheduler and
kubelet emulated, the kubernetes client, dagster-k8s and Dagster real), SeaweedFS as the S3
store the pods share, and a real PostgreSQL server holding the Dagster instance the run worker
writes to. No pod shares a SQLite file or a local folder with another here, as on a cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.support.k8s_emulator.fixtures import max_concurrent, wait_for
from tests.support.k8s_emulator.instance import write_k8s_instance
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - fixtures by name
from tests.support.servers import create_bucket, s3_store_server  # noqa: F401 - fixtures by name

FLOWS = Path(__file__).with_name("flows")
FLOW_FILE = FLOWS / "nested_pods_flow.py"
pytestmark = pytest.mark.xdist_group("k8s_emulator")
TASKS = "app.kubernetes.io/component=flowassets-task"


@dataclass(frozen=True)
class Cluster:
    emulator: object
    namespace: str
    home: Path
    env: dict[str, str]  # the store settings every process and pod gets


@pytest.fixture
def cluster(k8s_emulator, k8s_namespace, s3_store_server, postgres_server, postgres_db,
            monkeypatch) -> Cluster:
    """A K8sRunLauncher instance on PostgreSQL whose pods share an S3 bucket."""
    bucket = create_bucket("s3", s3_store_server)
    env = {"FLOWASSETS_DATASTORE": "s3", "FLOWASSETS_DATASTORE_SYSROOT_S3": bucket.root,
           "FLOWASSETS_KUBERNETES_POLL_S": "0.5", **s3_store_server.env}
    home = Path(os.environ["DAGSTER_HOME"])
    write_k8s_instance(home, k8s_emulator.kubeconfig, k8s_namespace, env, postgres_server.url(postgres_db))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", raising=False)
    return Cluster(k8s_emulator, k8s_namespace, home, env)


def read_back(run_id: str) -> dict:
    """The run's end data through the client, from a new process with only the store settings."""
    script = ("import json, sys; from flowassets.client import Flow; "
              "run = Flow('NestedPodsFlow')[sys.argv[1]]; d = run.data; "
              "work = {t.id: [t.data.value, t.data.pod, t.data.attempt, t.pod] for t in run['work']}; "
              "print(json.dumps({'values': d.values, 'pods': d.pods, 'count': d.count, 'work': work}))")
    out = subprocess.run([sys.executable, "-c", script, run_id], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


def test_nested_foreach_runs_one_pod_per_task_within_max_workers(cluster):
    """5 x 8 inner tasks, ``--max-workers 6``: 40 pods (plus one retry), never more than 6 at once;
    task 3-2-5 (step 3, items 2 and 5)'s first pod is OOMKilled and @retry runs it again as a new pod."""
    emulator, ns = cluster.emulator, cluster.namespace
    emulator.add_fault(ns, "flowassets.io/task=3-2-5,flowassets.io/attempt=0", "oomkilled:0")
    mark = emulator.request_mark()
    run_id_file = cluster.home / "run_id"
    result = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW_FILE), "--max-workers", "6",
         "--run-id-file", str(run_id_file), "--quiet"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_file.read_text()

    pods = emulator.pods(namespace=ns, label_selector=f"flowassets.io/run-id={run_id},{TASKS}")
    tasks = Counter(p["labels"]["flowassets.io/task"] for p in pods)
    assert len(tasks) == 40 and len(pods) == 41, tasks
    assert all(p["labels"]["flowassets.io/step"] == "work" for p in pods)
    (first, retry) = sorted((p for p in pods if p["labels"]["flowassets.io/task"] == "3-2-5"),
                            key=lambda p: p["labels"]["flowassets.io/attempt"])
    assert first["reason"] == "OOMKilled" and retry["phase"] == "Succeeded"
    peak = max_concurrent(pods)
    assert 2 <= peak <= 6, f"{peak} task pods ran at once"

    data = read_back(run_id)
    assert data["count"] == 40
    assert [tuple(v) for v in data["values"]] == sorted(
        (o, f"item-{o}-{i}", i) for o in range(5) for i in range(8))
    succeeded = {p["name"]: p for p in pods if p["phase"] == "Succeeded"}
    assert sorted(name for name, _ in data["pods"].values()) == sorted(succeeded)
    assert data["pods"]["2_5"] == [retry["name"], 1]
    value, pod_in_body, attempt, recorded = data["work"]["3-2-5"]
    assert pod_in_body == recorded and recorded["pod"] == retry["name"] and attempt == 1
    assert recorded["namespace"] == ns and recorded["node"] == "emulator-node"

    # Each task's output, captured in its pod, is read back per task as for a local task.
    logs = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "logs", "--stdout",
                           f"NestedPodsFlow/{run_id}/work/3-2-5"], capture_output=True, text=True, timeout=120)
    assert logs.returncode == 0, logs.stderr
    assert f"task 3-2-5 on {retry['name']}" in logs.stdout
    # ...its stdout and stderr apart (Kubernetes' own pod log merges them)...
    assert "stderr of task" not in logs.stdout
    err = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "logs", "--stderr",
                          f"NestedPodsFlow/{run_id}/work/3-2-5"], capture_output=True, text=True, timeout=120)
    assert err.stdout == "stderr of task 3-2-5\n", err.stderr
    # ...and in Dagster's captured logs of the process that launched the step's task pods.
    assert_task_pod_output_captured(run_id, retry["name"])

    # Bulk polling: requests per task stay a small constant (one create each, the rest shared).
    served = emulator.requests(since=mark, namespace=ns)
    per_kind = Counter(f"{r['verb']} {r['resource']}" for r in served)
    assert per_kind["create jobs"] == 41
    assert per_kind["get pods"] <= 2, per_kind  # only to explain the OOMKilled pod, never per tick
    assert len(served) / 40 <= 4, per_kind


def assert_task_pod_output_captured(run_id: str, retry_pod: str) -> None:
    with dg.DagsterInstance.get() as instance:
        manager = instance.compute_log_manager
        captures = [r.event_log_entry.dagster_event.event_specific_data for r in
                    instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.LOGS_CAPTURED).records]
        [work] = [c for c in captures if "work" in c.step_keys]
        logs = manager.get_log_data(manager.build_log_key_for_run(run_id, work.file_key))
    stdout, stderr = logs.stdout.decode(), logs.stderr.decode()
    assert f"[work/3-2-5 attempt 1] task 3-2-5 on {retry_pod}\n" in stdout
    assert "[work/3-2-5 attempt 1] stderr of task 3-2-5\n" in stderr
    labelled = re.compile(r"^\[work/[0-9-]+(?: attempt \d)?\] (.*)$", re.MULTILINE)
    out_lines, err_lines = labelled.findall(stdout), labelled.findall(stderr)
    assert len(out_lines) == len(err_lines) == 40  # every task once (the OOMKilled try wrote none)
    assert all(ln.startswith("task ") for ln in out_lines)
    assert all(ln.startswith("stderr of task ") for ln in err_lines)


def test_a_run_launched_like_the_ui_with_default_definitions_uses_task_pods_and_cancel_deletes_them(cluster):
    """``dagster job launch`` of definitions that pick no executor (K8sRunLauncher -> run worker
    pod): the task pods exist, at most 3 at once (run config, as the launchpad sets it); cancelling
    the run deletes every one of them."""
    emulator, ns = cluster.emulator, cluster.namespace
    run_id = str(uuid.uuid4())
    config = {"ops": {"start": {"config": {"outer_width": 2, "inner_width": 4, "sleep_s": 120.0}}},
              "resources": {"flowassets_runtime": {"config": {"max_workers": 3}}}}
    (cluster.home / "run_config.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-f",
                    str(FLOWS / "default_definitions.py"), "-j", "NestedPodsFlow", "-c",
                    str(cluster.home / "run_config.yaml"), "--run-id", run_id],
                   check=True, capture_output=True, cwd=cluster.home)
    selector = f"flowassets.io/run-id={run_id},{TASKS}"

    def running() -> list[dict]:
        return [p for p in emulator.pods(namespace=ns, label_selector=selector)
                if p["startedAt"] is not None and p["finishedAt"] is None]

    wait_for("3 task pods to run", lambda: len(running()) == 3, 240)
    time.sleep(2)  # a fourth would have been created by now if the limit did not hold
    assert len(emulator.pods(namespace=ns, label_selector=selector)) == 3
    with dg.DagsterInstance.get() as instance:
        instance.run_coordinator.cancel_run(run_id)
    wait_for("every task pod to stop", lambda: not running(), 120)
    batch = emulator.batch()
    jobs = batch.list_namespaced_job(ns, label_selector=selector).items
    assert jobs == [] or all(j.metadata.deletion_timestamp or j.status.failed for j in jobs)
    with dg.DagsterInstance.get() as instance:
        status = wait_for("the run to end", lambda: (
            lambda r: r.status if r.is_finished else None)(instance.get_run_by_id(run_id)), 120)
    assert status == dg.DagsterRunStatus.CANCELED


def test_the_same_definitions_run_locally_without_a_kubernetes_launcher():
    """No K8sRunLauncher: the default executor runs every step and task in-process, no pod."""
    from flowassets.client import Flow

    recon = dg.reconstructable(_default_job)
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(recon, instance=instance, run_config={
            "ops": {"start": {"config": {"outer_width": 2, "inner_width": 2}}}})
    assert result.success
    run = Flow("NestedPodsFlow")[result.run_id]
    assert run.data.count == 4 and all(t.pod is None for t in run["work"])


def _default_job():
    from flowassets import flow_to_job
    from flowassets.authoring.loader import load_flow_class

    return flow_to_job(load_flow_class(str(FLOW_FILE), "NestedPodsFlow"))

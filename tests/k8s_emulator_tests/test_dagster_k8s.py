"""The real dagster-k8s path on the emulator: ``dagster job launch`` -> DefaultRunCoordinator ->
K8sRunLauncher creates the run worker Job; its pod runs ``dagster api execute_run`` locally; the
run's k8s_job_executor (K8sStepHandler) creates one Job per step, whose pods run
``dagster api execute_step``. Every process shares the persistent SQLite instance in DAGSTER_HOME,
which the launcher passes to the pods (its ``dagster_home`` config)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster_k8s.client import DagsterKubernetesClient

from tests.support.k8s_emulator.fixtures import wait_for

JOB_FILE = Path(__file__).with_name("emulated_job.py")


def write_instance(home: Path, kubeconfig: Path, namespace: str) -> None:
    (home / "dagster.yaml").write_text(f"""
run_launcher:
  module: dagster_k8s
  class: K8sRunLauncher
  config:
    service_account_name: default
    instance_config_map: dagster-instance  # names a ConfigMap the pods would mount; unused locally
    dagster_home: {home}
    job_image: flowassets-emulated:local  # ignored: the emulator runs pods in this Python env
    job_namespace: {namespace}
    load_incluster_config: false
    kubeconfig_file: {kubeconfig}
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
""")


def launch_and_wait(home: Path, job_name: str, timeout_s: float = 240.0) -> dg.DagsterRun:
    run_id = str(uuid.uuid4())
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-f", str(JOB_FILE), "-j", job_name,
                    "--run-id", run_id], env=env, check=True, capture_output=True, cwd=home)
    deadline = time.monotonic() + timeout_s
    with dg.DagsterInstance.get() as instance:
        while time.monotonic() < deadline:
            run = instance.get_run_by_id(run_id)
            if run and run.is_finished:
                return run
            time.sleep(0.5)
    raise AssertionError(f"run {run_id} of {job_name} did not finish; emulator logs hold the pods' output")


@pytest.fixture
def dagster_home(k8s_emulator, k8s_namespace) -> Path:
    home = Path(os.environ["DAGSTER_HOME"])  # per-test, from tests/conftest.py
    write_instance(home, k8s_emulator.kubeconfig, k8s_namespace)
    return home


def k8s_client(k8s_emulator) -> DagsterKubernetesClient:
    return DagsterKubernetesClient.production_client(
        batch_api_override=k8s_emulator.batch(), core_api_override=k8s_emulator.core())


def test_k8s_run_launcher_and_step_executor_run_a_job_to_success(k8s_emulator, k8s_namespace, dagster_home):
    run = launch_and_wait(dagster_home, "emulated_k8s_job")
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert pickle.loads((dagster_home / "storage" / run.run_id / "add_one" / "result").read_bytes()) == 42

    # The run is SUCCESS a moment before the run worker process exits and its Job completes.
    jobs = wait_for("every Job to complete", lambda: (lambda items: items if all(
        j.status.succeeded == 1 for j in items) else None)(k8s_emulator.batch().list_namespaced_job(k8s_namespace).items))
    components = sorted(j.metadata.labels["app.kubernetes.io/component"] for j in jobs)
    assert components == ["run_worker", "step_worker", "step_worker"]
    step_jobs = [j for j in jobs if j.metadata.labels["app.kubernetes.io/component"] == "step_worker"]
    client = k8s_client(k8s_emulator)
    by_op = {}
    for job in step_jobs:
        (pod_name,) = client.get_pod_names_in_job(job.metadata.name, k8s_namespace)
        by_op[job.spec.template.metadata.labels["dagster/op"]] = client.retrieve_pod_logs(pod_name, k8s_namespace)
    assert sorted(by_op) == ["add_one", "make_number"]
    assert "adding one to 41" in by_op["add_one"]


def test_an_oomkilled_step_pod_fails_the_run(k8s_emulator, k8s_namespace, dagster_home):
    run = launch_and_wait(dagster_home, "oom_k8s_job")
    assert run.status == dg.DagsterRunStatus.FAILURE
    client = k8s_client(k8s_emulator)
    (step_job,) = [j for j in k8s_emulator.batch().list_namespaced_job(k8s_namespace).items
                   if j.metadata.labels["app.kubernetes.io/component"] == "step_worker"]
    assert step_job.status.failed == 1
    (pod,) = client.get_pods_in_job(step_job.metadata.name, k8s_namespace)
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137)
    with dg.DagsterInstance.get() as instance:
        (failure,) = [r.dagster_event.step_failure_data.error.message for r in instance.all_logs(run.run_id)
                      if r.dagster_event and r.dagster_event.event_type_value == "STEP_FAILURE"]
    # dagster-k8s's own health check names the Job but not the OOM (dagster-k8s #13593).
    assert f"Discovered failed Kubernetes job {step_job.metadata.name}" in failure

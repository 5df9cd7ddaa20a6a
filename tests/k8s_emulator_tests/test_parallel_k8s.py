"""@parallel on Kubernetes against the emulator: the real K8sRunLauncher runs the run worker, the
hybrid executor's dagster-k8s K8sStepHandler runs the @parallel step's pod (the control pod,
node 0), which clones itself into one worker Job per other node (compute/parallel.py). The N
pods really rendezvous over TCP on current.parallel.main_ip (the emulator gives every pod
127.0.0.1, see tests/support/k8s_emulator/README.md) and the join sees N inputs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml

from flowassets.client import Flow
from flowassets.compute.parallel import CONTROL_LABEL, NODE_LABEL
from tests.support.k8s_emulator.fixtures import wait_for

DEFINITIONS = Path(__file__).with_name("parallel_definitions.py")
pytestmark = pytest.mark.xdist_group("k8s_emulator")
NODES = 3


def write_instance(home: Path, kubeconfig: Path, namespace: str) -> None:
    # The emulator's pods are processes here: the local store is at the same path in each.
    env = {"FLOWASSETS_DATASTORE_SYSROOT_LOCAL": os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"],
           "FLOWASSETS_DATASTORE_LOCAL_SHARED": "1"}
    launcher = {
        "service_account_name": "default",
        "instance_config_map": "dagster-instance",  # a cluster would mount it; unused here
        "dagster_home": str(home),
        "job_image": "flowassets-emulated:local",  # the emulator runs pods in this Python env
        "job_namespace": namespace,
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig),
        "env_vars": [f"{k}={v}" for k, v in env.items()],
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": launcher},
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
        "telemetry": {"enabled": False},
    }))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(home: Path, config: dict) -> str:
    run_id = str(uuid.uuid4())
    (home / "run_config.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-f", str(DEFINITIONS),
                    "-j", "ParallelK8sFlow", "-c", str(home / "run_config.yaml"), "--run-id", run_id],
                   check=True, capture_output=True, cwd=home)
    return run_id


def failures(run_id: str) -> list[str]:
    with dg.DagsterInstance.get() as instance:
        return [r.dagster_event.step_failure_data.error.message for r in instance.all_logs(run_id)
                if r.dagster_event and r.dagster_event.event_type_value == "STEP_FAILURE"]


def test_parallel_step_runs_one_pod_per_node_that_rendezvous(k8s_emulator, k8s_namespace):
    home = Path(os.environ["DAGSTER_HOME"])
    write_instance(home, k8s_emulator.kubeconfig, k8s_namespace)
    run_id = launch(home, {
        "ops": {"start": {"config": {"nodes": NODES, "port": free_port()}}},
        "execution": {"config": {"health_check_interval_seconds": 1}},
    })
    with dg.DagsterInstance.get() as instance:
        run = wait_for(f"run {run_id} to finish", lambda: (
            lambda r: r if r and r.is_finished else None)(instance.get_run_by_id(run_id)), 240)
    assert run.status == dg.DagsterRunStatus.SUCCESS, failures(run_id)

    gather = Flow("ParallelK8sFlow")[run_id]["gather"].task.data
    assert gather.indices == list(range(NODES))
    assert gather.worlds == [list(range(NODES))] * NODES  # every node met every other
    assert gather.num_nodes_seen == [NODES] and gather.controls == ["0"]
    assert gather.main_ips == ["127.0.0.1"]  # the control pod's status.podIP in the emulator

    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    pods = core.list_namespaced_pod(
        k8s_namespace, label_selector=f"flowassets.io/run-id={run_id},flowassets.io/step=train").items
    assert sorted(p.metadata.name for p in pods) == sorted(gather.pods.values())
    assert len(set(gather.pods.values())) == NODES  # one pod per node
    control = gather.pods[0]
    assert control.startswith("dagster-step-")  # node 0 ran in dagster-k8s's step pod
    workers = batch.list_namespaced_job(k8s_namespace, label_selector=NODE_LABEL).items
    assert sorted(j.spec.template.metadata.labels[NODE_LABEL] for j in workers) == [
        str(i) for i in range(1, NODES)]
    by_node = {int(p.metadata.labels[NODE_LABEL]): p.metadata.name for p in pods if NODE_LABEL in p.metadata.labels}
    assert by_node == {i: gather.pods[i] for i in range(1, NODES)}
    for job in workers:
        assert job.status.succeeded == 1
        assert job.spec.template.metadata.labels[CONTROL_LABEL] == control
        assert [(o.kind, o.name) for o in job.metadata.owner_references] == [("Pod", control)]
        assert job.spec.template.metadata.labels["flowassets.io/flow"] == "ParallelK8sFlow"
        assert job.spec.active_deadline_seconds  # the control Job's deadline carried over


FAULT = "emulator.flowassets.io/fail"  # tests/support/k8s_emulator/README.md, fault injection


def train_in_stand_in_control_pod(k8s_emulator, namespace: str, flow_name: str, monkeypatch,
                                  worker_fault: str | None = None) -> str:
    """The step's runtime driven directly (no Dagster run: faster) from inside a stand-in control
    pod's environment: a real pod in the emulator whose spec the worker Jobs clone. A fault
    annotation added once it runs reaches only the clones. Returns the step's failure message."""
    from kubernetes.client import (
        V1Container, V1EnvVar, V1EnvVarSource, V1ObjectFieldSelector, V1ObjectMeta, V1Pod, V1PodSpec,
    )

    from flowassets.errors import StepFailure
    from flowassets.graph.build import build_graph
    from flowassets.runtime.execute import execute_step
    from flowassets.runtime.task import RunContext
    from flowassets.storage.artifacts import ArtifactStore
    from flowassets.storage.select import open_backend
    from tests.conftest import load_flow
    from tests.k8s_emulator_tests.parallel_definitions import FLOW_FILE

    write_instance(Path(os.environ["DAGSTER_HOME"]), k8s_emulator.kubeconfig, namespace)
    core = k8s_emulator.core()
    field = lambda path: V1EnvVarSource(field_ref=V1ObjectFieldSelector(field_path=path))  # noqa: E731
    control = core.create_namespaced_pod(namespace, V1Pod(
        metadata=V1ObjectMeta(name="control-pod", labels={"flowassets.io/flow": flow_name}),
        spec=V1PodSpec(restart_policy="Never", containers=[V1Container(
            name="dagster", image="flowassets-emulated:local", command=["sleep", "120"],
            env=[V1EnvVar(name="FLOWASSETS_KUBERNETES_POD_NAME", value_from=field("metadata.name")),
                 V1EnvVar(name="FLOWASSETS_KUBERNETES_POD_NAMESPACE", value_from=field("metadata.namespace"))])])))
    wait_for("the control pod to run", lambda: core.read_namespaced_pod(
        control.metadata.name, namespace).status.pod_ip)
    if worker_fault:
        core.patch_namespaced_pod(control.metadata.name, namespace,
                                  {"metadata": {"annotations": {FAULT: worker_fault}}})
    try:
        flow = load_flow(FLOW_FILE, flow_name)
        graph = build_graph(flow)
        parameters = {**{p.attr_name: p.default for p in graph.parameters}, "nodes": NODES, "port": free_port()}
        ctx = RunContext(flow_cls=flow, graph=graph, store=ArtifactStore(open_backend(), flow_name),
                         run_id=str(uuid.uuid4()), parameters=parameters)
        start = execute_step(ctx, "start", [])
        monkeypatch.setenv("FLOWASSETS_KUBERNETES_POD_NAME", control.metadata.name)
        monkeypatch.setenv("FLOWASSETS_KUBERNETES_POD_NAMESPACE", namespace)
        with pytest.raises(StepFailure) as caught:
            execute_step(ctx, "train", [start])
    finally:
        core.delete_namespaced_pod(control.metadata.name, namespace, grace_period_seconds=0)
    return str(caught.value)


def test_a_failing_node_fails_the_step_naming_its_pod(k8s_emulator, k8s_namespace, monkeypatch):
    message = train_in_stand_in_control_pod(k8s_emulator, k8s_namespace, "ParallelFailFlow", monkeypatch)
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    (failed,) = batch.list_namespaced_job(k8s_namespace, label_selector=f"{NODE_LABEL}=1").items
    (pod,) = core.list_namespaced_pod(k8s_namespace, label_selector=f"job-name={failed.metadata.name}").items
    assert failed.status.failed == 1
    assert "ParallelFailFlow" in message and "'train'" in message and "@parallel node 1" in message
    assert f"worker pod {pod.metadata.name}" in message
    assert f"ValueError: node 1 cannot train in {pod.metadata.name}" in message  # the user's error, from the pod
    assert "The other @parallel nodes of the step were stopped." in message
    assert "TimeoutError" not in message  # node 0 was stopped in its rendezvous, not timed out
    # The nodes that were waiting for node 1 are not left running: their Jobs were deleted, or
    # ended on their own when node 0 (their rendezvous peer) was stopped.
    for index in range(2, NODES):
        selector = f"{NODE_LABEL}={index}"
        assert all(j.metadata.deletion_timestamp or j.status.succeeded or j.status.failed
                   for j in batch.list_namespaced_job(k8s_namespace, label_selector=selector).items)
        wait_for(f"node {index}'s pod to stop", lambda: not [
            p for p in core.list_namespaced_pod(k8s_namespace, label_selector=selector).items
            if p.status.phase in ("Pending", "Running")])


def test_an_unschedulable_worker_pod_fails_the_step_with_the_schedulers_reason(
        k8s_emulator, k8s_namespace, monkeypatch):
    from flowassets.compute.parallel import PENDING_TIMEOUT_ENV

    monkeypatch.setenv(PENDING_TIMEOUT_ENV, "0")  # fail at the first Unschedulable condition
    message = train_in_stand_in_control_pod(k8s_emulator, k8s_namespace, "ParallelK8sFlow", monkeypatch,
                                            worker_fault="unschedulable")
    assert "ParallelK8sFlow" in message and "@parallel node" in message
    assert "unschedulable (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu." in message
    # No worker Job is left waiting for a node.
    assert not [j for j in k8s_emulator.batch().list_namespaced_job(k8s_namespace, label_selector=NODE_LABEL).items
                if not j.metadata.deletion_timestamp]


def test_an_oomkilled_worker_pod_fails_the_step_saying_so(k8s_emulator, k8s_namespace, monkeypatch):
    message = train_in_stand_in_control_pod(k8s_emulator, k8s_namespace, "ParallelSleepFlow", monkeypatch,
                                            worker_fault="oomkilled")
    assert "ended without a result" in message
    assert "terminated: OOMKilled, exit code 137" in message and "raise memory=" in message


DRIVER = """
import os, sys, uuid
from flowassets.graph.build import build_graph
from flowassets.runtime.execute import execute_step
from flowassets.runtime.task import RunContext
from flowassets.storage.artifacts import ArtifactStore
from flowassets.storage.select import open_backend
from tests.conftest import load_flow
from tests.k8s_emulator_tests.parallel_definitions import FLOW_FILE

flow = load_flow(FLOW_FILE, "ParallelSleepFlow")
ctx = RunContext(flow_cls=flow, graph=build_graph(flow), store=ArtifactStore(open_backend(), flow.__name__),
                 run_id=str(uuid.uuid4()), parameters={"nodes": int(sys.argv[1]), "port": 1, "seconds": 600.0})
start = execute_step(ctx, "start", [])
os.environ.update(FLOWASSETS_KUBERNETES_POD_NAME=sys.argv[2], FLOWASSETS_KUBERNETES_POD_NAMESPACE=sys.argv[3])
execute_step(ctx, "train", [start])
"""


def test_interrupting_the_step_deletes_its_worker_pods(k8s_emulator, k8s_namespace):
    """As when a run is cancelled: the step process is interrupted (Dagster turns SIGTERM into an
    interrupt in the op; SIGINT does the same here) while every node is still working."""
    from kubernetes.client import V1Container, V1ObjectMeta, V1Pod, V1PodSpec

    write_instance(Path(os.environ["DAGSTER_HOME"]), k8s_emulator.kubeconfig, k8s_namespace)
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    control = core.create_namespaced_pod(k8s_namespace, V1Pod(
        metadata=V1ObjectMeta(name="control-pod"), spec=V1PodSpec(restart_policy="Never", containers=[
            V1Container(name="dagster", image="flowassets-emulated:local", command=["sleep", "120"])])))
    wait_for("the control pod to run", lambda: core.read_namespaced_pod("control-pod", k8s_namespace).status.pod_ip)
    root = Path(__file__).resolve().parents[2]
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(NODES), control.metadata.name, k8s_namespace],
                              cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        running = lambda: [p for p in core.list_namespaced_pod(  # noqa: E731
            k8s_namespace, label_selector=NODE_LABEL).items if p.status.phase == "Running"]
        wait_for("every worker pod to run", lambda: len(running()) == NODES - 1)
        driver.send_signal(signal.SIGINT)
        assert driver.wait(timeout=60) != 0
    finally:
        if driver.poll() is None:
            driver.kill()
        core.delete_namespaced_pod("control-pod", k8s_namespace, grace_period_seconds=0)
    assert not [j for j in batch.list_namespaced_job(k8s_namespace, label_selector=NODE_LABEL).items
                if not j.metadata.deletion_timestamp]
    wait_for("the worker pods to be gone", lambda: not core.list_namespaced_pod(
        k8s_namespace, label_selector=NODE_LABEL).items)

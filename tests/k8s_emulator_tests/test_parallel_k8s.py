"""@parallel on Kubernetes against the emulator: the real K8sRunLauncher runs the run worker, and
the @parallel step launches one task pod per node through the same launcher as foreach tasks
(compute/task_pods.py, runtime/pod_tasks.py): node 0's pod first, the others once it has an IP,
which they get as current.parallel.main_ip. The N pods really rendezvous over TCP (the emulator
gives every pod 127.0.0.1, see tests/support/k8s_emulator/README.md) and the join sees N inputs."""

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
from flowassets.compute.task_pods import SHARED_LOCAL_STORE_ENV
from tests.support.k8s_emulator.fixtures import wait_for
from tests.support.k8s_emulator.instance import write_k8s_instance

DEFINITIONS = Path(__file__).with_name("parallel_definitions.py")
pytestmark = pytest.mark.xdist_group("k8s_emulator")
NODES = 3
TASKS = "app.kubernetes.io/component=flowassets-task"


def store_env() -> dict[str, str]:
    """The emulator's pods are processes here: the local store is at the same path in each."""
    return {"FLOWASSETS_DATASTORE_SYSROOT_LOCAL": os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"],
            SHARED_LOCAL_STORE_ENV: "1"}


def write_instance(home: Path, kubeconfig: Path, namespace: str) -> None:
    write_k8s_instance(home, kubeconfig, namespace, store_env())

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


def test_parallel_step_runs_one_pod_per_node_that_rendezvous(k8s_emulator, k8s_namespace, monkeypatch):
    monkeypatch.setenv(SHARED_LOCAL_STORE_ENV, "1")
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
    assert gather.num_nodes_seen == [NODES] and gather.controls == ["2-0"]
    assert gather.main_ips == ["127.0.0.1"]  # node 0's status.podIP in the emulator

    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    pods = core.list_namespaced_pod(
        k8s_namespace, label_selector=f"flowassets.io/run-id={run_id},flowassets.io/step=train").items
    assert sorted(p.metadata.name for p in pods) == sorted(gather.pods.values())
    by_node = {int(p.metadata.labels["flowassets.io/foreach-index"]): p.metadata.name for p in pods}
    assert by_node == gather.pods  # one task pod per node, the same launcher as foreach tasks
    jobs = batch.list_namespaced_job(k8s_namespace, label_selector=f"flowassets.io/step=train,{TASKS}").items
    assert len(jobs) == NODES
    for job in jobs:
        assert job.status.succeeded == 1
        assert job.spec.template.metadata.labels["flowassets.io/flow"] == "ParallelK8sFlow"
        assert job.spec.active_deadline_seconds  # the step's deadline (5 days by default)
        assert job.spec.template.spec.containers[0].resources.requests["memory"] == "512M"
    node0 = next(j for j in jobs if j.spec.template.metadata.labels["flowassets.io/foreach-index"] == "0")
    others = [j for j in jobs if j is not node0]
    assert all(j.metadata.creation_timestamp >= node0.metadata.creation_timestamp for j in others)


def run_train(k8s_emulator, namespace: str, flow_name: str, fault: str | None = None,
              pending_timeout_s: float = 600.0) -> str:
    """The step's runtime driven directly (no Dagster run: faster), with its nodes as task pods
    of a target built as a K8sRunLauncher instance would give it; ``fault`` hits node 1's pod
    only (an emulator fault rule). Returns the step's failure message."""
    from flowassets.errors import StepFailure
    from flowassets.runtime.execute import StepSettings, execute_step

    ctx, target = driver_context(k8s_emulator.kubeconfig, namespace, flow_name, pending_timeout_s)
    if fault:
        k8s_emulator.add_fault(namespace, f"flowassets.io/run-id={ctx.run_id},flowassets.io/foreach-index=1",
                               fault)
    start = execute_step(ctx, "start", [])
    with pytest.raises(StepFailure) as caught:
        execute_step(ctx, "train", [start], StepSettings(max_workers=NODES, pods=target))
    return str(caught.value)


def driver_context(kubeconfig, namespace: str, flow_name: str, pending_timeout_s: float = 600.0,
                   **parameters):
    from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig

    from flowassets.compute.kubernetes import k8s_config_for_step
    from flowassets.compute.task_pods import PodTarget, cluster_client
    from flowassets.graph.build import build_graph
    from flowassets.runtime.task import RunContext
    from flowassets.storage.artifacts import ArtifactStore
    from flowassets.storage.select import open_backend
    from tests.conftest import load_flow
    from tests.k8s_emulator_tests.parallel_definitions import FLOW_FILE

    flow = load_flow(FLOW_FILE, flow_name)
    graph = build_graph(flow)
    values = {**{p.attr_name: p.default for p in graph.parameters}, "nodes": NODES, "port": free_port(),
              **parameters}
    ctx = RunContext(flow_cls=flow, graph=graph, store=ArtifactStore(open_backend(), flow_name),
                     run_id=str(uuid.uuid4()), parameters=values)
    target = PodTarget(
        api=cluster_client(False, str(kubeconfig)),
        job_config=DagsterK8sJobConfig(job_image="flowassets-emulated:local",
                                       env_vars=[f"{k}={v}" for k, v in store_env().items()]),
        user_config=UserDefinedDagsterK8sConfig.from_dict(k8s_config_for_step(graph, graph["train"])),
        namespace=namespace, run_id=ctx.run_id, pending_timeout_s=pending_timeout_s, poll_s=0.3)
    return ctx, target


def test_a_failing_node_fails_the_step_naming_its_pod(k8s_emulator, k8s_namespace):
    message = run_train(k8s_emulator, k8s_namespace, "ParallelFailFlow")
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    (failed,) = batch.list_namespaced_job(k8s_namespace, label_selector="flowassets.io/foreach-index=1").items
    (pod,) = core.list_namespaced_pod(k8s_namespace, label_selector=f"job-name={failed.metadata.name}").items
    assert failed.status.failed == 1
    assert "ParallelFailFlow" in message and "'train'" in message and "foreach index 1 of 3" in message
    assert f"ValueError: node 1 cannot train in {pod.metadata.name}" in message  # the user's error, from the pod
    assert "The other @parallel nodes of the step were stopped." in message
    assert "TimeoutError" not in message  # node 0 was stopped in its rendezvous, not timed out
    # The nodes that were waiting for node 1 are not left running: their Jobs were deleted.
    for index in (0, 2):
        selector = f"flowassets.io/foreach-index={index}"
        assert all(j.metadata.deletion_timestamp or j.status.succeeded or j.status.failed
                   for j in batch.list_namespaced_job(k8s_namespace, label_selector=selector).items)
        wait_for(f"node {index}'s pod to stop", lambda: not [
            p for p in core.list_namespaced_pod(k8s_namespace, label_selector=selector).items
            if p.status.phase in ("Pending", "Running")])


def test_an_unschedulable_node_pod_fails_the_step_with_the_schedulers_reason(k8s_emulator, k8s_namespace):
    message = run_train(k8s_emulator, k8s_namespace, "ParallelK8sFlow", fault="unschedulable",
                        pending_timeout_s=0.0)
    assert "ParallelK8sFlow" in message and "foreach index 1 of 3" in message
    assert "unschedulable (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu." in message
    # No node Job is left waiting for a node.
    assert not [j for j in k8s_emulator.batch().list_namespaced_job(k8s_namespace, label_selector=TASKS).items
                if not (j.metadata.deletion_timestamp or j.status.failed or j.status.succeeded)]


def test_an_oomkilled_node_pod_fails_the_step_saying_so(k8s_emulator, k8s_namespace):
    message = run_train(k8s_emulator, k8s_namespace, "ParallelSleepFlow", fault="oomkilled")
    assert "foreach index 1 of 3" in message
    assert "terminated: OOMKilled, exit code 137" in message and "raise memory=" in message


DRIVER = """
import sys
from flowassets.runtime.execute import StepSettings, execute_step
from tests.k8s_emulator_tests.test_parallel_k8s import NODES, driver_context

ctx, target = driver_context(sys.argv[1], sys.argv[2], "ParallelSleepFlow", seconds=600.0)
start = execute_step(ctx, "start", [])
execute_step(ctx, "train", [start], StepSettings(max_workers=NODES, pods=target))
"""


def test_interrupting_the_step_deletes_its_node_pods(k8s_emulator, k8s_namespace):
    """As when a run is cancelled: the step process is interrupted (Dagster turns SIGTERM into an
    interrupt in the op; SIGINT does the same here) while every node is still working."""
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    root = Path(__file__).resolve().parents[2]
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(k8s_emulator.kubeconfig), k8s_namespace],
                              cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        running = lambda: [p for p in core.list_namespaced_pod(  # noqa: E731
            k8s_namespace, label_selector=TASKS).items if p.status.phase == "Running"]
        wait_for("every node pod to run", lambda: len(running()) == NODES, 120)
        driver.send_signal(signal.SIGINT)
        assert driver.wait(timeout=60) != 0
    finally:
        if driver.poll() is None:
            driver.kill()
    assert not [j for j in batch.list_namespaced_job(k8s_namespace, label_selector=TASKS).items
                if not j.metadata.deletion_timestamp]
    wait_for("every node pod to stop", lambda: not running(), 60)

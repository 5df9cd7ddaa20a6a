"""Flows on Kubernetes end to end: the real K8sRunLauncher, dagster-k8s's K8sStepHandler inside
flowassets' hybrid executor, the official kubernetes client, against the localhost emulator
(which runs every pod as a local process; see tests/support/k8s_emulator/README.md).

One emulator per xdist worker (session fixture), one namespace per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from kubernetes.client import V1Namespace, V1ObjectMeta, V1Secret

from flowassets.client import Flow
from flowassets.compute.task_pods import SHARED_LOCAL_STORE_ENV
from tests.support.k8s_emulator.fixtures import wait_for
from tests.support.k8s_emulator.instance import write_k8s_instance

FLOWS = Path(__file__).with_name("flows")
pytestmark = pytest.mark.xdist_group("k8s_emulator")


def write_instance(home: Path, kubeconfig: Path, namespace: str, env: dict[str, str]) -> None:
    """A Dagster instance whose runs launch as Kubernetes Jobs (K8sRunLauncher). ``env`` reaches
    the run worker pod and, through the launcher's container context, every step pod."""
    write_k8s_instance(home, kubeconfig, namespace, env)

@pytest.fixture
def home(k8s_emulator, k8s_namespace, monkeypatch) -> Path:
    home = Path(os.environ["DAGSTER_HOME"])  # per test, from tests/conftest.py
    monkeypatch.setenv(SHARED_LOCAL_STORE_ENV, "1")  # the CLI, where it is the run worker
    write_instance(home, k8s_emulator.kubeconfig, k8s_namespace, store_env())
    return home


def store_env() -> dict[str, str]:
    """The local store, declared shared: the emulator's pods are processes on this machine, so
    the folder is at the same path in every pod (a cluster needs S3 or a shared volume)."""
    return {"FLOWASSETS_DATASTORE_SYSROOT_LOCAL": os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"],
            SHARED_LOCAL_STORE_ENV: "1"}


def launch(home: Path, job: str, config: dict, env: dict[str, str] | None = None) -> str:
    """``dagster job launch``: DefaultRunCoordinator -> K8sRunLauncher creates the run worker Job."""
    run_id = str(uuid.uuid4())
    (home / "run_config.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-f", str(FLOWS / "definitions.py"),
                    "-j", job, "-c", str(home / "run_config.yaml"), "--run-id", run_id],
                   env={**os.environ, **(env or {})}, check=True, capture_output=True, cwd=home)
    return run_id


def wait_finished(run_id: str, timeout_s: float = 240.0) -> dg.DagsterRun:
    with dg.DagsterInstance.get() as instance:
        return wait_for(f"run {run_id} to finish", lambda: (
            lambda run: run if run and run.is_finished else None)(instance.get_run_by_id(run_id)), timeout_s)


def step_events(run_id: str, kind: str) -> dict[str, list]:
    with dg.DagsterInstance.get() as instance:
        records = instance.all_logs(run_id)
    out: dict[str, list] = {}
    for record in records:
        event = record.dagster_event
        if event and event.event_type_value == kind:
            out.setdefault(event.step_key, []).append(event)
    return out


def components(jobs) -> list[str]:
    return sorted(j.metadata.labels["app.kubernetes.io/component"] for j in jobs)


HEALTH = {"health_check_interval_seconds": 1}


def test_hybrid_run_sends_only_kubernetes_steps_to_pods(k8s_emulator, k8s_namespace, home):
    """Launched like the Dagster UI does. The undecorated steps run as local processes in the run
    worker; namespace, service account, image and secrets come from FLOWASSETS_KUBERNETES_*."""
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    steps_ns = f"{k8s_namespace}-steps"
    core.create_namespace(V1Namespace(metadata=V1ObjectMeta(name=steps_ns)))
    try:
        core.create_namespaced_secret(steps_ns, V1Secret(metadata=V1ObjectMeta(name="api-creds"),
                                                         string_data={"API_TOKEN": "tok-123"}))
        fallbacks = {"FLOWASSETS_KUBERNETES_NAMESPACE": steps_ns,
                     "FLOWASSETS_KUBERNETES_SERVICE_ACCOUNT": "flow-runner",
                     "FLOWASSETS_KUBERNETES_CONTAINER_IMAGE": "registry.example/flows:7",
                     "FLOWASSETS_KUBERNETES_SECRETS": "api-creds"}
        write_instance(home, k8s_emulator.kubeconfig, k8s_namespace, {**store_env(), **fallbacks})
        run_id = launch(home, "HybridFlow", {"execution": {"config": HEALTH}}, env=fallbacks)
        run = wait_finished(run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS, step_events(run_id, "STEP_FAILURE")

        flow_run = Flow("HybridFlow")[run_id]
        data = flow_run.data
        assert (data.total, data.squares) == (6, [1, 4, 9])
        assert flow_run["start"].task.data.start_where == data.join_where == data.end_where == {
            "pod": None, "namespace": None, "token": None}
        assert data.train_where["pod"].startswith("dagster-step-")
        assert data.train_where["namespace"] == steps_ns and data.train_where["token"] == "tok-123"
        # One pod per foreach task, each a Job of its own with the step's pod settings.
        assert len(data.square_pods) == 3 and all(p.startswith("fa-square-") for p in data.square_pods)

        assert components(batch.list_namespaced_job(k8s_namespace).items) == ["run_worker"]
        step_jobs = batch.list_namespaced_job(steps_ns).items
        assert sorted(j.spec.template.metadata.labels["flowassets.io/step"] for j in step_jobs) == [
            "square", "square", "square", "train"]
        for job in step_jobs:
            pod_spec = job.spec.template.spec
            assert pod_spec.service_account_name == "flow-runner"
            assert pod_spec.containers[0].image == "registry.example/flows:7"
        task_jobs = [j for j in step_jobs if j.metadata.labels["app.kubernetes.io/component"] == "flowassets-task"]
        assert sorted((j.spec.template.metadata.labels["flowassets.io/task"],
                       j.spec.template.metadata.labels["flowassets.io/foreach-index"]) for j in task_jobs) == [
            ("3-0", "0"), ("3-1", "1"), ("3-2", "2")]  # square is step 3
        for job in task_jobs:
            assert job.spec.template.spec.containers[0].resources.requests["memory"] == "300M"

        pods = core.list_namespaced_pod(steps_ns, label_selector="flowassets.io/flow=HybridFlow").items
        assert sorted(p.metadata.name for p in pods) == sorted([data.train_where["pod"], *data.square_pods])
        square_pods = core.list_namespaced_pod(
            steps_ns, label_selector=f"flowassets.io/run-id={run_id},flowassets.io/step=square").items
        assert sorted(p.metadata.name for p in square_pods) == data.square_pods

        placements = {}
        for step, events in step_events(run_id, "ENGINE_EVENT").items():
            for event in events:
                meta = event.engine_event_data.metadata
                if "pod name" in meta:
                    placements[step] = (meta["pod name"].value, meta["namespace"].value, meta["node"].value)
        assert placements == {"train": (data.train_where["pod"], steps_ns, "emulator-node")}
        # Task pods: pod, namespace and node per task in the step's output metadata and the client.
        (output,) = step_events(run_id, "STEP_OUTPUT")["square"]
        rows = output.event_specific_data.metadata["pods"].value.records
        assert sorted((r.data["pod"], r.data["namespace"], r.data["node"]) for r in rows) == [
            (pod, steps_ns, "emulator-node") for pod in data.square_pods]
        assert flow_run["square"].task.pod["namespace"] == steps_ns
        starting = step_events(run_id, "STEP_WORKER_STARTING")
        assert sorted(starting) == ["end", "join", "square", "start", "train"]
        assert "local process" in starting["square"][0].message  # it launches the task pods
        assert "local process" in starting["join"][0].message
        assert "Kubernetes job" in starting["train"][0].message
    finally:
        core.delete_namespace(steps_ns)


def test_cli_with_kubernetes_sends_every_step(k8s_emulator, k8s_namespace, home, tmp_path):
    """``flowassets run flow.py --with kubernetes:...``: the CLI process is the run worker."""
    run_id_file = tmp_path / "run_id"
    result = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOWS / "plain_flow.py"), "--quiet",
         "--with", "kubernetes:cpu=0.5,memory=300,image=flowassets-cli:test", "--run-id-file", str(run_id_file)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run_id = run_id_file.read_text()
    data = Flow("PlainFlow")[run_id].data
    assert data.words == ["A", "B"]
    assert Flow("PlainFlow")[run_id]["start"].task.data.start_pod.startswith("dagster-step-")
    assert data.end_pod.startswith("dagster-step-")
    jobs = k8s_emulator.batch().list_namespaced_job(k8s_namespace).items
    by_step = {j.spec.template.metadata.labels["flowassets.io/step"]: j for j in jobs}
    assert sorted(by_step) == ["end", "join", "shout", "start"]
    for job in jobs:
        container = job.spec.template.spec.containers[0]
        assert container.image == "flowassets-cli:test"
        assert container.resources.requests["memory"] == "300M"
        assert container.resources.requests["cpu"] == "500m"
        assert job.metadata.labels["flowassets.io/run-id"] == run_id


def test_pod_failures_name_the_pod_and_the_kubernetes_reason(k8s_emulator, k8s_namespace, home):
    """Each branch's pod fails its own way; each step's failure says which pod and why."""
    from flowassets.cli.reconstruct import reconstructable_job

    recon = reconstructable_job(str(FLOWS / "faults_flow.py"), "FaultsFlow", {"executor": "hybrid"})
    config = {"execution": {"config": {
        **HEALTH, "pending_timeout_seconds": 2.0,
        "per_step_k8s_config": {"deadline": {"job_spec_config": {"active_deadline_seconds": 6}}},
    }}}
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(recon, instance=instance, run_config=config, raise_on_error=False)
    assert not result.success
    failures = {step: events[-1].step_failure_data.error.message
                for step, events in step_events(result.run_id, "STEP_FAILURE").items()}
    assert sorted(failures) == ["crash", "deadline", "evicted", "imagepull", "oom", "unschedulable"]
    core, batch = k8s_emulator.core(), k8s_emulator.batch()

    def pod_of(step: str) -> str:
        selector = f"flowassets.io/run-id={result.run_id},flowassets.io/step={step}"
        pods = [p.metadata.name for p in core.list_namespaced_pod(k8s_namespace, label_selector=selector).items]
        if not pods:  # deleted at the deadline: the job controller's event still names it
            (job,) = batch.list_namespaced_job(k8s_namespace, label_selector=selector).items
            events = core.list_namespaced_event(
                k8s_namespace, field_selector=f"involvedObject.name={job.metadata.name}").items
            pods = [e.message.split(": ", 1)[1] for e in events if e.reason == "SuccessfulCreate"]
        (pod,) = pods
        return f"{k8s_namespace}/{pod}"

    expected = {
        "crash": ["terminated: Error, exit code 3", "emulator fault exit:3"],
        "oom": ["terminated: OOMKilled, exit code 137", "raise memory="],
        "unschedulable": ["Pending", "Unschedulable", "0/1 nodes are available: 1 Insufficient memory."],
        "imagepull": ["cannot start its container", 'Failed to pull image "registry.example/not-there:1.0"'],
        "deadline": ["DeadlineExceeded", "deadline of 6 s"],
        "evicted": ["Evicted", "The node was low on resource: memory."],
    }
    for step, parts in expected.items():
        message = failures[step]
        assert pod_of(step) in message, (step, message)
        for part in parts:
            assert part in message, (step, part, message)
        assert "Discovered failed Kubernetes job" not in message
    assert "ErrImagePull" in failures["imagepull"] or "ImagePullBackOff" in failures["imagepull"]


def test_cancelling_a_run_deletes_its_jobs_and_pods(k8s_emulator, k8s_namespace, home):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    run_id = launch(home, "SlowFlow", {"execution": {"config": HEALTH}})
    selector = f"flowassets.io/run-id={run_id},flowassets.io/step=wait"
    wait_for("the wait step's pod to run", lambda: [
        p for p in core.list_namespaced_pod(k8s_namespace, label_selector=selector).items
        if p.status.phase == "Running"], timeout_s=180)
    with dg.DagsterInstance.get() as instance:
        assert instance.run_launcher.terminate(run_id)
    wait_for("every Job and pod to be gone", lambda: not batch.list_namespaced_job(k8s_namespace).items
             and not core.list_namespaced_pod(k8s_namespace).items, timeout_s=90)
    run = wait_finished(run_id, timeout_s=60)
    assert run.status == dg.DagsterRunStatus.CANCELED
    deleted = [e.message for events in step_events(run_id, "ENGINE_EVENT").values() for e in events
               if "Deleting Kubernetes job" in (e.message or "")]
    assert deleted, "the run worker deletes the running step's Job itself"


def test_with_kubernetes_without_a_k8s_run_launcher_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOWS / "plain_flow.py"),
         "--with", "kubernetes:cpu=2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "flow PlainFlow: --with kubernetes needs a cluster" in result.stderr
    assert "K8sRunLauncher" in result.stderr


def container_config(node) -> dict:
    """As dagster-k8s's step handler reads the op tag (a JSON string once on the op)."""
    from dagster_k8s.job import get_user_defined_k8s_config

    return dict(get_user_defined_k8s_config(node.definition.tags).container_config)


def test_with_option_tags_every_op_and_only_decorated_ones_without_it():
    from flowassets.cli.main import _translator_options
    from flowassets.cli.reconstruct import job_from_file

    options = _translator_options(["kubernetes:cpu=2,memory=8000,image=ubuntu:22.04"])
    assert options == {"with_decorators": ["kubernetes:cpu=2,memory=8000,image=ubuntu:22.04"]}
    every = job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow", json.dumps(options))
    for node in every.graph.nodes:
        tags = node.definition.tags
        assert tags["flowassets/compute"] == "kubernetes", node.name
        own_decorator = node.name in ("train", "square")
        assert container_config(node).get("image") == (None if own_decorator else "ubuntu:22.04")
    # A step's own @kubernetes wins over --with (as in Metaflow): train keeps cpu 0.5.
    train = container_config(every.graph.node_named("train"))
    start = container_config(every.graph.node_named("start"))
    assert train["resources"]["requests"]["cpu"] == "500m"
    assert start["resources"]["requests"] == {"cpu": "2", "memory": "8000M", "ephemeral-storage": "10240M"}

    default = job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow")
    compute = {n.name: n.definition.tags["flowassets/compute"] for n in default.graph.nodes}
    assert compute == {"start": "local", "train": "kubernetes", "square": "kubernetes",
                       "join": "local", "end": "local"}
    # Kubernetes steps reach a cluster by default: "auto" is hybrid with a K8sRunLauncher and
    # in-process without one; a flow with no Kubernetes step keeps the plain in-process executor.
    assert default.executor_def.name == "flowassets"
    assert default.graph.node_named("square").definition.tags["flowassets/task-pods"] == "true"
    assert "flowassets/task-pods" not in default.graph.node_named("train").definition.tags
    plain = job_from_file(str(FLOWS / "plain_flow.py"), "PlainFlow")
    assert plain.executor_def.name == "in_process"
    hybrid = job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow", json.dumps({"executor": "hybrid"}))
    assert hybrid.executor_def.name == "flowassets_hybrid"
    assert job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow",
                         json.dumps({"executor": "k8s"})).executor_def.name == "k8s"
    with pytest.raises(Exception, match="unknown executor 'kubernetes'"):
        job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow", json.dumps({"executor": "kubernetes"}))
    # The old setting is the same thing: every step on Kubernetes with these arguments.
    old = job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow", json.dumps(
        {"with_kubernetes": {"cpu": 2, "memory": 8000, "image": "ubuntu:22.04"}}))
    assert container_config(old.graph.node_named("start")) == container_config(
        every.graph.node_named("start"))
    with pytest.raises(Exception, match="batch-with-kubernetes"):  # @kubernetes steps + --with batch
        job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow",
                      json.dumps(_translator_options(["batch:cpu=2"])))
    for bad in ("kubernetes:cpus=2", "kubernetes:cpu", "kubernetes:memory=lots"):
        with pytest.raises(Exception, match="--with kubernetes:"):
            job_from_file(str(FLOWS / "hybrid_flow.py"), "HybridFlow",
                          json.dumps(_translator_options([bad])))

"""The emulator through the official ``kubernetes`` client: Jobs run their command, fail, are
rejected when invalid, show injected faults, and take their processes with them when deleted."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes
import pytest
from kubernetes.client import (
    ApiException, V1ConfigMap, V1Container, V1DeleteOptions, V1Job, V1JobSpec, V1ObjectMeta, V1PodSpec,
    V1PodTemplateSpec, V1ResourceRequirements, V1Secret,
)

from tests.support.k8s_emulator.fixtures import wait_for

FAULT = "emulator.flowassets.io/fail"


def make_job(name: str, command: list[str], annotations: dict | None = None, backoff_limit: int = 0,
             resources: dict | None = None, deadline_s: int | None = None, env: list | None = None) -> V1Job:
    container = V1Container(name="main", image="python:3.11-slim", command=command, env=env,
                            resources=V1ResourceRequirements(**resources) if resources else None)
    return V1Job(metadata=V1ObjectMeta(name=name), spec=V1JobSpec(
        backoff_limit=backoff_limit, active_deadline_seconds=deadline_s,
        template=V1PodTemplateSpec(metadata=V1ObjectMeta(annotations=annotations),
                                   spec=V1PodSpec(restart_policy="Never", containers=[container]))))


def finished_job(batch, ns: str, name: str):
    return wait_for(f"job {name} to finish", lambda: (
        lambda job: job if job.status and (job.status.succeeded or _failed(job)) else None)(
            batch.read_namespaced_job_status(name, ns)))


def _failed(job) -> bool:
    return any(c.type == "Failed" and c.status == "True" for c in job.status.conditions or [])


def job_pods(core, ns: str, name: str):
    return core.list_namespaced_pod(ns, label_selector=f"job-name={name}").items


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_job_runs_its_command_and_succeeds_with_the_log(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    created = batch.create_namespaced_job(k8s_namespace, make_job("hello", ["python", "-c", "print('hi')"]))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.generation == 1
    job = finished_job(batch, k8s_namespace, "hello")
    assert job.status.succeeded == 1 and job.status.active == 0 and job.status.completion_time
    assert [c.type for c in job.status.conditions] == ["SuccessCriteriaMet", "Complete"]
    (pod,) = job_pods(core, k8s_namespace, "hello")
    labels = pod.metadata.labels
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "hello"
    assert labels["controller-uid"] == created.metadata.uid
    assert pod.metadata.owner_references[0].uid == created.metadata.uid
    assert pod.status.phase == "Succeeded" and pod.spec.node_name
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    raw = core.read_namespaced_pod_log(pod.metadata.name, k8s_namespace, _preload_content=False)
    assert raw.data == b"hi\n"
    events = core.list_namespaced_event(k8s_namespace, field_selector="involvedObject.name=hello").items
    assert [e.reason for e in events] == ["SuccessfulCreate", "Completed"]


def test_failing_command_fails_the_job_after_its_backoff_limit(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    batch.create_namespaced_job(k8s_namespace, make_job(
        "fails", ["python", "-c", "import sys; print('boom'); sys.exit(3)"], backoff_limit=1))
    job = finished_job(batch, k8s_namespace, "fails")
    assert job.status.failed == 2 and not job.status.succeeded
    failed = [c for c in job.status.conditions if c.type == "Failed"][0]
    assert failed.reason == "BackoffLimitExceeded"
    pods = job_pods(core, k8s_namespace, "fails")
    assert len(pods) == 2 and {p.status.phase for p in pods} == {"Failed"}
    terminated = pods[0].status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (3, "Error")


def test_a_command_that_does_not_exist_fails_with_start_error(k8s_emulator, k8s_namespace):
    batch, core = k8s_emulator.batch(), k8s_emulator.core()
    batch.create_namespaced_job(k8s_namespace, make_job("nocmd", ["no-such-binary-anywhere"]))
    finished_job(batch, k8s_namespace, "nocmd")
    (pod,) = job_pods(core, k8s_namespace, "nocmd")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (128, "StartError")


INVALID = {
    "unknown field": ({"containers": [{"name": "main", "image": "x", "comand": ["true"]}]},
                      "spec.template.spec.containers[0]", "'comand' was unexpected"),
    "requests above limits": ({"containers": [{"name": "main", "image": "x", "resources": {
        "requests": {"memory": "8Gi"}, "limits": {"memory": "1000Mi"}}}]},
        "spec.template.spec.containers[0].resources.requests", "must be less than or equal to memory limit"),
    "bad quantity": ({"containers": [{"name": "main", "image": "x", "resources": {"limits": {"memory": "4GB"}}}]},
                     "spec.template.spec.containers[0].resources.limits[memory]", "quantities must match"),
    "gpu request without limit": ({"containers": [{"name": "main", "image": "x", "resources": {
        "requests": {"nvidia.com/gpu": 1}}}]}, "spec.template.spec.containers[0].resources.limits",
        "Limit must be set"),
    "no image": ({"containers": [{"name": "main"}]}, "spec.template.spec.containers[0].image", "Required value"),
    "restartPolicy Always": ({"restartPolicy": "Always", "containers": [{"name": "main", "image": "x"}]},
                             "spec.template.spec.restartPolicy", 'Unsupported value: "Always"'),
    "label value too long": ({"containers": [{"name": "main", "image": "x"}]}, "spec.template.metadata.labels",
                             "no more than 63 characters"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_manifests_are_rejected_with_422_and_not_stored(k8s_emulator, k8s_namespace, case):
    pod_spec, field, message = INVALID[case]
    pod_spec = {"restartPolicy": "Never", **pod_spec}
    labels = {"flow": "x" * 64} if case == "label value too long" else {}
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "invalid"},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": pod_spec}}}
    batch = k8s_emulator.batch()
    with pytest.raises(ApiException) as caught:
        batch.create_namespaced_job(k8s_namespace, body)
    error = caught.value
    assert error.status == 422
    status = json.loads(error.body)
    assert status["reason"] == "Invalid" and status["details"]["kind"] == "Job"
    assert any(c["field"] == field and message in c["message"] for c in status["details"]["causes"]), status
    assert batch.list_namespaced_job(k8s_namespace).items == []


def test_oomkilled_injection_kills_the_process_and_reports_exit_137(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    batch.create_namespaced_job(k8s_namespace, make_job(
        "oom", ["python", "-c", "import time; time.sleep(600)"], annotations={FAULT: "oomkilled"}))
    job = finished_job(batch, k8s_namespace, "oom")
    assert job.status.failed == 1
    (pod,) = job_pods(core, k8s_namespace, "oom")
    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.reason, terminated.exit_code) == ("Failed", "OOMKilled", 137)


def test_evicted_injection_fails_the_pod_with_reason_evicted(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    batch.create_namespaced_job(k8s_namespace, make_job(
        "evict", ["python", "-c", "import time; time.sleep(600)"], annotations={FAULT: "evicted"}))
    finished_job(batch, k8s_namespace, "evict")
    (pod,) = job_pods(core, k8s_namespace, "evict")
    assert (pod.status.phase, pod.status.reason) == ("Failed", "Evicted")
    assert "low on resource: memory" in pod.status.message


@pytest.mark.parametrize("how, expected", [
    ("annotation", "0/1 nodes are available: 1 Insufficient cpu."),
    ("memory above node capacity", "0/1 nodes are available: 1 Insufficient memory."),
    ("gpu the node lacks", "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."),
])
def test_unschedulable_pods_stay_pending_with_condition_and_event(k8s_emulator, k8s_namespace, how, expected):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    annotations = {FAULT: "unschedulable"} if how == "annotation" else None
    resources = {"memory above node capacity": {"requests": {"memory": "100Gi"}, "limits": {"memory": "100Gi"}},
                 "gpu the node lacks": {"limits": {"nvidia.com/gpu": "1"}}}.get(how)
    batch.create_namespaced_job(k8s_namespace, make_job("big", ["true"], annotations, resources=resources))
    pod = wait_for("pod to be judged unschedulable", lambda: next(
        (p for p in job_pods(core, k8s_namespace, "big") if p.status.conditions), None))
    assert pod.status.phase == "Pending" and not pod.status.container_statuses
    (scheduled,) = [c for c in pod.status.conditions if c.type == "PodScheduled"]
    assert (scheduled.status, scheduled.reason, scheduled.message) == ("False", "Unschedulable", expected)
    events = core.list_namespaced_event(k8s_namespace, field_selector=f"involvedObject.name={pod.metadata.name}")
    assert [(e.type, e.reason, e.message) for e in events.items] == [("Warning", "FailedScheduling", expected)]
    assert batch.read_namespaced_job_status("big", k8s_namespace).status.active == 1


def test_imagepull_injection_shows_errimagepull_then_backoff(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    batch.create_namespaced_job(k8s_namespace, make_job("pull", ["true"], {FAULT: "imagepull"}))

    def waiting_reason(reason: str):
        for pod in job_pods(core, k8s_namespace, "pull"):
            for status in pod.status.container_statuses or []:
                if status.state.waiting and status.state.waiting.reason == reason:
                    return pod
        return None

    assert wait_for("ErrImagePull", lambda: waiting_reason("ErrImagePull") or waiting_reason("ImagePullBackOff"))
    pod = wait_for("ImagePullBackOff", lambda: waiting_reason("ImagePullBackOff"))
    assert pod.status.phase == "Pending"
    events = core.list_namespaced_event(k8s_namespace, field_selector=f"involvedObject.name={pod.metadata.name}")
    assert [e.reason for e in events.items][-2:] == ["Failed", "BackOff"]
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod_log(pod.metadata.name, k8s_namespace)
    assert caught.value.status == 400 and "waiting to start" in caught.value.body


def _start_sleeper(k8s_emulator, ns: str, name: str, tmp_path: Path, **job_kwargs) -> int:
    pidfile = tmp_path / f"{name}.pid"
    code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    k8s_emulator.batch().create_namespaced_job(ns, make_job(name, ["python", "-c", code], **job_kwargs))
    return int(wait_for("the container process to start", lambda: pidfile.exists() and pidfile.read_text()))


def test_deleting_a_job_in_background_kills_its_processes_and_pods(k8s_emulator, k8s_namespace, tmp_path):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    pid = _start_sleeper(k8s_emulator, k8s_namespace, "sleeper", tmp_path)
    assert alive(pid)
    batch.delete_namespaced_job("sleeper", k8s_namespace, body=V1DeleteOptions(propagation_policy="Background"))
    wait_for("the process to die", lambda: not alive(pid))
    wait_for("the pod to go", lambda: not job_pods(core, k8s_namespace, "sleeper"))
    with pytest.raises(ApiException) as caught:
        batch.read_namespaced_job("sleeper", k8s_namespace)
    assert caught.value.status == 404


def test_dagster_k8s_delete_job_orphans_then_deletes_pods(k8s_emulator, k8s_namespace, tmp_path):
    """dagster-k8s deletes the Job without a propagation policy (batch/v1 orphans the pods), then
    each pod: the process must die only through the second step, as on a cluster."""
    from dagster_k8s.client import DagsterKubernetesClient

    client = DagsterKubernetesClient.production_client(
        batch_api_override=k8s_emulator.batch(), core_api_override=k8s_emulator.core())
    pid = _start_sleeper(k8s_emulator, k8s_namespace, "dsleeper", tmp_path)
    assert client.delete_job("dsleeper", k8s_namespace) is True
    wait_for("the process to die", lambda: not alive(pid))
    # As on a cluster, the pod object goes once the kubelet saw its container stop: a moment
    # after the process (seen here: still listed right after the process died, under load).
    wait_for("the pod object to go", lambda: not job_pods(k8s_emulator.core(), k8s_namespace, "dsleeper"))


def test_active_deadline_kills_the_pod_and_fails_the_job(k8s_emulator, k8s_namespace, tmp_path):
    batch = k8s_emulator.batch()
    pid = _start_sleeper(k8s_emulator, k8s_namespace, "late", tmp_path, deadline_s=2)
    job = finished_job(batch, k8s_namespace, "late")
    failed = [c for c in job.status.conditions if c.type == "Failed"][0]
    assert failed.reason == "DeadlineExceeded" and job.status.failed == 1
    wait_for("the process to die", lambda: not alive(pid))


def test_container_env_from_fields_secrets_configmaps_and_expansion(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    core.create_namespaced_secret(k8s_namespace, V1Secret(metadata=V1ObjectMeta(name="creds"),
                                                          string_data={"token": "s3cr3t"}))
    core.create_namespaced_config_map(k8s_namespace, V1ConfigMap(metadata=V1ObjectMeta(name="cfg"),
                                                                  data={"MODE": "fast"}))
    env = [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
           {"name": "GREETING", "value": "hello-$(NS)"}]
    job = make_job("envs", ["python", "-c", "import os; print(os.environ['POD'], os.environ['NS'], os.environ['IP'], "
                            "os.environ['TOKEN'], os.environ['GREETING'], os.environ['MODE'], os.getcwd())"],
                   env=env)
    job.spec.template.spec.containers[0].env_from = [{"configMapRef": {"name": "cfg"}}]
    batch.create_namespaced_job(k8s_namespace, job)
    finished_job(batch, k8s_namespace, "envs")
    (pod,) = job_pods(core, k8s_namespace, "envs")
    log = core.read_namespaced_pod_log(pod.metadata.name, k8s_namespace, _preload_content=False).data.decode()
    repo = str(Path(__file__).resolve().parents[2])
    assert log.split() == [pod.metadata.name, k8s_namespace, "127.0.0.1", "s3cr3t", f"hello-{k8s_namespace}",
                           "fast", repo]


def test_missing_secret_leaves_the_container_waiting(k8s_emulator, k8s_namespace):
    core, batch = k8s_emulator.core(), k8s_emulator.batch()
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "token"}}}]
    batch.create_namespaced_job(k8s_namespace, make_job("nosecret", ["true"], env=env))
    pod = wait_for("the pod to report its container", lambda: next(
        (p for p in job_pods(core, k8s_namespace, "nosecret") if p.status.container_statuses), None))
    waiting = pod.status.container_statuses[0].state.waiting
    assert (waiting.reason, waiting.message) == ("CreateContainerConfigError", 'secret "absent" not found')


def test_label_and_field_selectors(k8s_emulator, k8s_namespace):
    core = k8s_emulator.core()
    for name, labels in (("a", {"flow": "Train", "step": "start"}), ("b", {"flow": "Train", "step": "end"}),
                         ("c", {"flow": "Other"})):
        core.create_namespaced_config_map(k8s_namespace, V1ConfigMap(
            metadata=V1ObjectMeta(name=name, labels=labels)))

    def names(**kwargs) -> list[str]:
        return sorted(o.metadata.name for o in core.list_namespaced_config_map(k8s_namespace, **kwargs).items)

    assert names(label_selector="flow=Train") == ["a", "b"]
    assert names(label_selector="flow==Train,step!=start") == ["b"]
    assert names(label_selector="step in (start, end)") == ["a", "b"]
    assert names(label_selector="flow notin (Train)") == ["c"]
    assert names(label_selector="!step") == ["c"]
    assert names(label_selector="step") == ["a", "b"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b,metadata.namespace=" + k8s_namespace) == ["a", "c"]
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("no-such-namespace-here", V1ConfigMap(metadata=V1ObjectMeta(name="x")))
    assert caught.value.status == 404
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(k8s_namespace, V1ConfigMap(metadata=V1ObjectMeta(name="a")))
    assert caught.value.status == 409


def test_kubeconfig_loads_into_the_global_client_config(k8s_emulator):
    kubernetes.config.load_kube_config(config_file=str(k8s_emulator.kubeconfig))
    names = [n.metadata.name for n in kubernetes.client.CoreV1Api().list_node().items]
    assert names == ["emulator-node"]


def test_a_bare_pod_runs_and_its_log_can_be_followed(k8s_emulator, k8s_namespace):
    """Pods created directly (as dagster-k8s pipes does) run too; ``follow`` streams to the end."""
    core = k8s_emulator.core()
    code = "import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.2)"
    core.create_namespaced_pod(k8s_namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x", "command": ["python", "-c", code]}]}})
    wait_for("the container to start", lambda: core.read_namespaced_pod("bare", k8s_namespace).status.phase != "Pending")
    stream = core.read_namespaced_pod_log("bare", k8s_namespace, follow=True, _preload_content=False)
    assert stream.data == b"0\n1\n2\n"
    pod = wait_for("the pod to finish", lambda: (lambda p: p if p.status.phase == "Succeeded" else None)(
        core.read_namespaced_pod("bare", k8s_namespace)))
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0

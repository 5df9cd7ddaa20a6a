"""The worker Job a @parallel control pod creates for node i (compute/parallel.py), built from a
control pod the way dagster-k8s's step handler builds it, checked against the strict Kubernetes
schema. The end-to-end run is tests/k8s_emulator_tests/test_parallel_k8s.py."""

from __future__ import annotations

from kubernetes.client import V1ObjectMeta, V1Pod

from flowassets import flow_to_job
from flowassets.compute.k8s_manifest import build_step_job, schema_problems
from flowassets.compute.parallel import CONTROL_LABEL, MAIN_IP_ENV, NODE_LABEL, WORKER_MODULE, worker_job
from tests.conftest import ROOT, load_flow

FLOW_FILE = ROOT / "tests" / "runtime" / "flows" / "parallel_flow.py"
CONTROL_JOB = "dagster-step-0123456789abcdef0123456789abcdef"


def control_pod() -> V1Pod:
    """The pod the Job controller would start for the @parallel step's dagster-k8s Job."""
    tags = flow_to_job(load_flow(FLOW_FILE, "ParallelK8sFlow")).graph.node_named("train").definition.tags
    job = build_step_job(tags, step_key="train", job_name=CONTROL_JOB)
    template = job.spec.template
    labels = {**template.metadata.labels, "job-name": CONTROL_JOB, "controller-uid": "u-1",
              "batch.kubernetes.io/job-name": CONTROL_JOB, "batch.kubernetes.io/controller-uid": "u-1"}
    spec = template.spec
    spec.node_name = "node-a"  # set by the scheduler: a clone must be scheduled afresh
    return V1Pod(metadata=V1ObjectMeta(name=f"{CONTROL_JOB}-x7k2p", namespace="ml", uid="pod-uid-1",
                                       labels=labels, annotations=template.metadata.annotations),
                 spec=spec)


def test_worker_job_clones_the_control_pod_with_the_worker_command():
    own = control_pod()
    job = worker_job(own, index=2, attempt=0, main_ip="10.1.2.3", args=["local:/s", "F", "k"], deadline_s=3600)
    assert schema_problems(job) == []
    assert job["metadata"]["name"] == f"{CONTROL_JOB}-node-2" and len(job["metadata"]["name"]) <= 63
    assert job["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": own.metadata.name, "uid": "pod-uid-1"}]
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 3600)
    labels = spec["template"]["metadata"]["labels"]
    assert labels[NODE_LABEL] == "2" and labels[CONTROL_LABEL] == own.metadata.name
    assert labels["flowassets.io/flow"] == "ParallelK8sFlow" and labels["flowassets.io/step"] == "train"
    assert not {"job-name", "controller-uid", "batch.kubernetes.io/job-name"} & set(labels)
    pod = spec["template"]["spec"]
    assert "nodeName" not in pod and pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    control = own.spec.containers[0]
    assert container["command"] == ["python", "-m", WORKER_MODULE]
    assert container["args"] == ["local:/s", "F", "k"]
    assert container["image"] == control.image
    assert container["resources"] == {"limits": control.resources.limits, "requests": control.resources.requests}
    env = {e["name"]: e for e in container["env"]}
    assert env[MAIN_IP_ENV] == {"name": MAIN_IP_ENV, "value": "10.1.2.3"}
    # The downward-API variables stay references, so each worker pod reports its own name.
    assert env["FLOWASSETS_KUBERNETES_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_retry_attempts_get_their_own_job_name():
    job = worker_job(control_pod(), index=11, attempt=3, main_ip="10.0.0.9", args=[], deadline_s=None)
    assert job["metadata"]["name"].endswith("-node-11-a3") and len(job["metadata"]["name"]) <= 63
    assert "activeDeadlineSeconds" not in job["spec"]

"""@parallel on Kubernetes: one pod per node, with ``current.parallel`` set for a rendezvous.

A ``@parallel`` step that runs on Kubernetes has its op in one pod, the step pod dagster-k8s
launched (the *control pod*, as Metaflow calls node 0's task). The runtime still plans N tasks and
forks one child per node (all at once: a rendezvous needs every node up). Here each child does:

- node 0: runs its task in the control pod, with ``main_ip`` = the control pod's IP;
- node i > 0: clones the control pod into a worker Job (same image, env, resources, volumes,
  service account, labels plus ``flowassets.io/parallel-node=i``), whose container runs
  ``python -m flowassets.runtime.task_worker`` for that one task, waits for it, prints the
  pod's log (so it lands in the task's log) and returns the task record the pod wrote to the
  artifact store.

So every node sees the same ``current.parallel`` (main_ip, num_nodes, node_index,
control_task_id) and node 0 can listen on main_ip for the others, as ``torch.distributed``'s
``MASTER_ADDR`` rendezvous does. Worker Jobs carry an ownerReference to the control pod, so a
cluster's garbage collector deletes them with it; a child that is terminated deletes its Job,
and when one node fails the step deletes the workers still running (``stop_parallel_workers``).
Cluster access follows the Dagster instance's ``K8sRunLauncher`` config, as dagster-k8s's own
step handler.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from typing import Any

from ..errors import StepFailure
from ..storage.backend import safe_key
from ..storage.select import location_of
from .kubernetes import POD_NAME_ENV, POD_NAMESPACE_ENV
from .task_pods import WORKER_MODULE, TaskPayload

MAIN_IP_ENV = "FLOWASSETS_PARALLEL_MAIN_IP"
NODE_LABEL = "flowassets.io/parallel-node"
CONTROL_LABEL = "flowassets.io/parallel-control-pod"
#: Labels the Job controller puts on its pods; a clone must not claim the control pod's Job.
_JOB_CONTROLLER_LABELS = ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid",
                          "batch.kubernetes.io/job-name", "batch.kubernetes.io/job-completion-index")
POLL_S = 0.5
#: How long a worker pod may stay unschedulable before the step fails (the hybrid executor's
#: pending_timeout_seconds default); worker pods are not watched by dagster-k8s.
PENDING_TIMEOUT_ENV = "FLOWASSETS_KUBERNETES_PENDING_TIMEOUT_S"
DEFAULT_PENDING_TIMEOUT_S = 600.0
STOP_SETTLE_S = 2.0


def in_step_pod() -> bool:
    """True inside a Kubernetes step pod (flowassets sets these downward-API variables)."""
    return bool(os.environ.get(POD_NAME_ENV) and os.environ.get(POD_NAMESPACE_ENV))


def payload_key(flow: str, run_id: str, step: str, task_id: str, attempt: int) -> str:
    return safe_key(flow, "runs", run_id, step, "parallel", f"{task_id}.{attempt}")


def run_parallel_node(spec: Any, ctx: Any) -> Any:
    """Run one @parallel node from the control pod: node 0 here, the others in worker pods."""
    from ..runtime.task import run_task

    core, batch = _clients()
    own = core.read_namespaced_pod(os.environ[POD_NAME_ENV], os.environ[POD_NAMESPACE_ENV])
    main_ip = own.status.pod_ip
    if not main_ip:
        raise StepFailure(f"flow {ctx.graph.flow_name}, step {spec.step!r}: the control pod "
                          f"{own.metadata.name} has no IP yet, so @parallel nodes cannot meet.")
    index = spec.foreach_stack[-1].index
    if index == 0:
        os.environ[MAIN_IP_ENV] = main_ip  # this forked child only
        return run_task(spec, ctx)
    return _run_in_worker_pod(core, batch, own, spec, ctx, main_ip, index)


def _clients() -> tuple[Any, Any]:
    """API clients configured as the instance's K8sRunLauncher says (in-cluster by default).

    Reads the launcher's config from ``$DAGSTER_HOME/dagster.yaml`` without building the
    instance: every node's child would otherwise open (and with SQLite, race to create) its
    storage at the same moment."""
    import kubernetes
    from dagster._core.instance.ref import InstanceRef

    config: dict[str, Any] = {}
    home = os.environ.get("DAGSTER_HOME")
    if home:
        data = InstanceRef.from_dir(home).run_launcher_data
        config = dict(data.config_dict) if data is not None else {}
    if config.get("load_incluster_config", True) and not config.get("kubeconfig_file"):
        kubernetes.config.load_incluster_config()
    else:
        kubernetes.config.load_kube_config(config_file=config.get("kubeconfig_file"))
    return kubernetes.client.CoreV1Api(), kubernetes.client.BatchV1Api()


def _run_in_worker_pod(core: Any, batch: Any, own: Any, spec: Any, ctx: Any, main_ip: str,
                       index: int) -> Any:
    import inspect

    flow = ctx.graph.flow_name
    where = f"flow {flow}, step {spec.step!r}, @parallel node {index}"
    key = payload_key(flow, ctx.run_id, spec.step, spec.task_id, spec.attempt)
    payload = TaskPayload(spec, ctx.run_id, inspect.getfile(ctx.flow_cls), ctx.flow_cls.__name__,
                            ctx.max_num_splits, ctx.origin_run_id)
    backend = ctx.store.backend
    backend.put_bytes(key + ".spec", pickle.dumps(payload, protocol=5))
    namespace = own.metadata.namespace
    body = worker_job(own, index, spec.attempt, main_ip,
                      [location_of(backend), flow, key], _deadline_s(batch, own))
    name = body["metadata"]["name"]
    batch.create_namespaced_job(namespace, body)

    def delete_and_exit(signum: int, frame: Any) -> None:
        _delete_job(batch, name, namespace)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, delete_and_exit)
    job, problem = _wait_for_job(core, batch, name, namespace)
    if problem is not None:  # stuck before it could run: the node will never join
        _delete_job(batch, name, namespace)
        raise StepFailure(f"{where}: {problem}")
    pod = _pod_of(core, name, namespace)
    pod_name = pod.metadata.name if pod else "(none)"
    if pod is not None:
        log = core.read_namespaced_pod_log(pod_name, namespace, _preload_content=False).data
        sys.stdout.write(log.decode(errors="replace"))
        sys.stdout.flush()
    if backend.exists(key + ".result"):
        outcome = pickle.loads(backend.get_bytes(key + ".result"))
        if outcome[0] == "ok":
            return outcome[1]
        raise StepFailure(f"{where} failed in worker pod {pod_name} ({namespace}):\n{outcome[2]}")
    raise StepFailure(f"{where}: worker pod {pod_name} ({namespace}) ended without a result: "
                      f"{_pod_reason(core, pod, job)}.")


def worker_job(own: Any, index: int, attempt: int, main_ip: str, args: list[str],
               deadline_s: int | None) -> dict[str, Any]:
    """A Job whose pod is the control pod with another command: one @parallel node."""
    from kubernetes.client import ApiClient

    pod_spec = ApiClient().sanitize_for_serialization(own.spec)
    for field in ("nodeName", "hostname", "subdomain"):
        pod_spec.pop(field, None)
    pod_spec["restartPolicy"] = "Never"
    container = pod_spec["containers"][0]
    container["command"] = ["python", "-m", WORKER_MODULE]
    container["args"] = args
    container["env"] = [e for e in container.get("env", []) if e["name"] != MAIN_IP_ENV] + [
        {"name": MAIN_IP_ENV, "value": main_ip}]
    labels = {k: v for k, v in (own.metadata.labels or {}).items() if k not in _JOB_CONTROLLER_LABELS}
    labels.update({NODE_LABEL: str(index), CONTROL_LABEL: own.metadata.name[:63]})
    base = (own.metadata.labels or {}).get("job-name") or own.metadata.name
    suffix = f"-node-{index}" + (f"-a{attempt}" if attempt else "")
    name = base[: 63 - len(suffix)].rstrip("-") + suffix
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {"metadata": {"labels": labels, "annotations": dict(own.metadata.annotations or {})},
                     "spec": pod_spec},
    }
    if deadline_s:
        job_spec["activeDeadlineSeconds"] = deadline_s
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels, "ownerReferences": [{
            "apiVersion": "v1", "kind": "Pod", "name": own.metadata.name, "uid": own.metadata.uid}]},
        "spec": job_spec,
    }


def _deadline_s(batch: Any, own: Any) -> int | None:
    """The control pod's Job deadline (@timeout / the 5-day default) applies to every node."""
    job_name = (own.metadata.labels or {}).get("job-name")
    if not job_name:
        return None
    try:
        return batch.read_namespaced_job(job_name, own.metadata.namespace).spec.active_deadline_seconds
    except Exception:  # noqa: BLE001 - the deadline is a safeguard, not a requirement
        return None


def _wait_for_job(core: Any, batch: Any, name: str, namespace: str) -> tuple[Any, str | None]:
    """Poll the worker Job until it finishes, or until its pod cannot start (image pull,
    unschedulable past the pending timeout): then (job, why) names the pod and the reason."""
    from .pod_diagnosis import FATAL_WAITING, diagnose_pod

    started = time.monotonic()
    timeout_s = float(os.environ.get(PENDING_TIMEOUT_ENV, DEFAULT_PENDING_TIMEOUT_S))
    while True:
        job = batch.read_namespaced_job_status(name, namespace)
        status = job.status
        if (status.succeeded or 0) >= 1 or (status.failed or 0) >= 1:
            return job, None
        for condition in status.conditions or ():
            if condition.type in ("Complete", "Failed") and condition.status == "True":
                return job, None
        pod = _pod_of(core, name, namespace)
        if pod is not None and pod.status.phase == "Pending":
            waiting = [cs.state.waiting.reason for cs in pod.status.container_statuses or ()
                       if cs.state and cs.state.waiting]
            waited = time.monotonic() - started
            if any(r in FATAL_WAITING for r in waiting) or waited >= timeout_s:
                problem = diagnose_pod(pod, core, namespace, waited, timeout_s)
                if problem:
                    return job, problem
        time.sleep(POLL_S)


def _pod_of(core: Any, job_name: str, namespace: str) -> Any:
    pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job_name}").items
    return sorted(pods, key=lambda p: p.metadata.creation_timestamp)[-1] if pods else None


def _pod_reason(core: Any, pod: Any, job: Any) -> str:
    from .pod_diagnosis import diagnose_pod

    if pod is not None:
        explained = diagnose_pod(pod, core, pod.metadata.namespace, 0.0, float("inf"))
        if explained:
            return explained
    for condition in job.status.conditions or ():
        if condition.type == "Failed" and condition.status == "True":
            reason = f"Job {condition.reason}: {condition.message}"
            break
    else:
        reason = "the Job finished"
    if pod is not None:
        if pod.status.reason:
            return f"pod {pod.status.reason}: {pod.status.message}; {reason}"
        for status in pod.status.container_statuses or ():
            term = status.state.terminated if status.state else None
            if term is not None:
                return f"container {term.reason} (exit code {term.exit_code}); {reason}"
    return reason


def stop_parallel_workers(settle_s: float = STOP_SETTLE_S) -> list[str]:
    """Delete this control pod's worker Jobs that are still running (a node failed, or the step
    was interrupted); finished ones stay for their logs. Returns the names deleted.

    The nodes' processes were just SIGKILLed, and one may have died with its create request
    in flight, which the API server still completes: so the list is repeated for ``settle_s``."""
    _, batch = _clients()
    own, namespace = os.environ[POD_NAME_ENV], os.environ[POD_NAMESPACE_ENV]
    deleted: list[str] = []
    until = time.monotonic() + settle_s
    while True:
        jobs = batch.list_namespaced_job(namespace, label_selector=f"{CONTROL_LABEL}={own[:63]}").items
        for job in jobs:
            if not (job.status.succeeded or job.status.failed or job.metadata.deletion_timestamp):
                _delete_job(batch, job.metadata.name, namespace)
                deleted.append(job.metadata.name)
        if time.monotonic() >= until:
            return deleted
        time.sleep(POLL_S)


def _delete_job(batch: Any, name: str, namespace: str) -> None:
    try:
        batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
    except Exception:  # noqa: BLE001 - best effort while being terminated
        pass

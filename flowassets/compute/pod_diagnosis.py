"""Why a step's Kubernetes pod is not doing its job, in words a user can act on.

dagster-k8s reports only "Discovered failed Kubernetes job" and waits forever on a Pending pod
(dagster-k8s #24595, #13593). This reads the step Job's pods and events and names the pod and
the Kubernetes reason: OOMKilled, Unschedulable, ErrImagePull, Evicted, DeadlineExceeded.
"""

from __future__ import annotations

from typing import Any

FATAL_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                 "CreateContainerError"}


def diagnose_step_job(handler: Any, context: Any, waited_s: float, pending_timeout_s: float) -> str | None:
    job_name = handler._get_k8s_step_job_name(context)
    namespace = handler._get_container_context(context).namespace
    core = handler._api_client.core_api
    try:
        pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job_name}").items
    except Exception:  # noqa: BLE001 - diagnosis must never break the health check itself
        return None
    for pod in pods:
        message = diagnose_pod(pod, core, namespace, waited_s, pending_timeout_s)
        if message:
            return message
    try:
        job = handler._api_client.batch_api.read_namespaced_job_status(job_name, namespace)
    except Exception:  # noqa: BLE001
        return None
    for condition in (job.status.conditions or []) if job.status else []:
        if condition.type == "Failed" and condition.status == "True":
            return (f"Kubernetes job {namespace}/{job_name} failed: {condition.reason}"
                    + (f" ({condition.message})" if condition.message else ""))
    return None


def diagnose_pod(pod: Any, core: Any, namespace: str, waited_s: float,
                 pending_timeout_s: float) -> str | None:
    name = pod.metadata.name
    status = pod.status
    where = f"pod {namespace}/{name}"
    if status.reason == "Evicted":
        return f"{where} was evicted: {status.message or 'node pressure'}"
    for cs in status.container_statuses or []:
        state = cs.state
        if state and state.terminated and state.terminated.exit_code not in (0, None):
            reason = state.terminated.reason or "Error"
            hint = " (raise memory= in @kubernetes/@resources)" if reason == "OOMKilled" else ""
            return (f"{where} container {cs.name} terminated: {reason}, exit code "
                    f"{state.terminated.exit_code}{hint}")
        if state and state.waiting and state.waiting.reason in FATAL_WAITING:
            return f"{where} cannot start: {state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
    if status.phase == "Pending":
        for condition in status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False" and waited_s >= pending_timeout_s:
                detail = condition.message or _latest_event(core, namespace, name) or condition.reason
                return (f"{where} stayed unschedulable for {int(waited_s)} s: {detail}")
    if status.phase == "Failed":
        return f"{where} failed: {status.reason or ''} {status.message or ''}".strip()
    return None


def _latest_event(core: Any, namespace: str, pod_name: str) -> str | None:
    try:
        events = core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={pod_name}").items
    except Exception:  # noqa: BLE001
        return None
    warnings = [e for e in events if e.type == "Warning"] or events
    return warnings[-1].message if warnings else None

"""Why a step's Kubernetes pod is not doing its job, in words a user can act on.

dagster-k8s reports only "Discovered failed Kubernetes job" and waits forever on a Pending pod
(dagster-k8s #24595, #13593). This reads the step Job, its pods and their events through the
``kubernetes`` client and names the pod and the Kubernetes reason: OOMKilled, a non-zero exit
(with the last log lines), Unschedulable (the scheduler's FailedScheduling message),
ErrImagePull / ImagePullBackOff, Evicted, DeadlineExceeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FATAL_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                 "CreateContainerError"}
IMAGE_PULL = {"ErrImagePull", "ImagePullBackOff"}
LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class Placement:
    """Where a step's pod runs, recorded on the step (Metaflow records the same in task metadata)."""

    pod: str
    node: str
    node_ip: str | None


def job_pods(api: Any, job_name: str, namespace: str) -> list[Any]:
    return api.core_api.list_namespaced_pod(namespace, label_selector=f"job-name={job_name}").items


def pod_placement(api: Any, job_name: str, namespace: str) -> Placement | None:
    """The newest scheduled pod of the Job, or None if none is on a node yet."""
    try:
        pods = [p for p in job_pods(api, job_name, namespace) if p.spec.node_name]
    except Exception:  # noqa: BLE001 - recording where a step ran must never fail the run
        return None
    if not pods:
        return None
    pod = max(pods, key=lambda p: p.metadata.creation_timestamp or 0)
    return Placement(pod.metadata.name, pod.spec.node_name, pod.status.host_ip if pod.status else None)


def diagnose_step_job(api: Any, job_name: str, namespace: str, waited_s: float,
                      pending_timeout_s: float) -> str | None:
    """A failure message for the step, or None while its pod is fine (or merely starting)."""
    try:
        job = api.batch_api.read_namespaced_job_status(job_name, namespace)
        pods = job_pods(api, job_name, namespace)
    except Exception:  # noqa: BLE001 - diagnosis must never break the health check itself
        return None
    failed = _failed_condition(job)
    if failed is not None and failed.reason == "DeadlineExceeded":
        return _deadline_message(api, job, namespace, failed)
    for pod in pods:
        message = diagnose_pod(pod, api.core_api, namespace, waited_s, pending_timeout_s)
        if message:
            return message
    if failed is not None:
        return (f"Kubernetes job {namespace}/{job_name} failed: {failed.reason}"
                + (f" ({failed.message})" if failed.message else "") + _pods_note(api, job, namespace))
    return None


def kill_reason(api: Any, job_name: str, namespace: str) -> str | None:
    """Why Kubernetes stopped a running step pod (deadline, eviction, OOM), if it did.

    Asked when the step's own process reported that it was interrupted (SIGTERM): a run being
    cancelled deletes the Job, so there is no reason and the step's own message stands."""
    try:
        job = api.batch_api.read_namespaced_job_status(job_name, namespace)
    except Exception:  # noqa: BLE001
        return None
    failed = _failed_condition(job)
    if failed is not None and failed.reason == "DeadlineExceeded":
        return _deadline_message(api, job, namespace, failed)
    try:
        pods = job_pods(api, job_name, namespace)
    except Exception:  # noqa: BLE001
        return None
    for pod in pods:
        status = pod.status
        if status.reason == "Evicted":
            return diagnose_pod(pod, api.core_api, namespace, 0.0, float("inf"))
        for cs in status.container_statuses or []:
            if cs.state and cs.state.terminated and cs.state.terminated.reason == "OOMKilled":
                return diagnose_pod(pod, api.core_api, namespace, 0.0, float("inf"))
    return None


def diagnose_pod(pod: Any, core: Any, namespace: str, waited_s: float,
                 pending_timeout_s: float) -> str | None:
    name = pod.metadata.name
    status = pod.status
    where = f"pod {namespace}/{name}"
    if status.reason == "Evicted":
        return f"{where} was evicted (Evicted): {status.message or 'node pressure'}"
    for cs in status.container_statuses or []:
        state = cs.state
        if state and state.terminated and state.terminated.exit_code not in (0, None):
            reason = state.terminated.reason or "Error"
            text = f"{where} container {cs.name} terminated: {reason}, exit code {state.terminated.exit_code}"
            if reason == "OOMKilled":
                return text + " (the container used more memory than its limit: raise memory= in " \
                              "@kubernetes or @resources)"
            if state.terminated.message:
                text += f": {state.terminated.message}"
            tail = _log_tail(core, namespace, name, cs.name)
            return text + (f"; last log lines:\n{tail}" if tail else "")
        if state and state.waiting and state.waiting.reason in FATAL_WAITING:
            detail = state.waiting.message or ""
            if state.waiting.reason in IMAGE_PULL:
                # After the first try the state says only "Back-off pulling image"; the pull's
                # own error (not found, unauthorized) is in the kubelet's "Failed" event.
                pulled = _latest_event(core, namespace, name, "Failed")
                if pulled and pulled not in detail:
                    detail = f"{detail} ({pulled})" if detail else pulled
            return f"{where} cannot start its container {cs.name}: {state.waiting.reason}: {detail}".rstrip(": ")
    if status.phase == "Pending":
        for condition in status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False" and waited_s >= pending_timeout_s:
                detail = _latest_event(core, namespace, name, "FailedScheduling") or condition.message or ""
                return (f"{where} stayed Pending for {int(waited_s)} s, unschedulable "
                        f"({condition.reason or 'Unschedulable'}): {detail}")
    if status.phase == "Failed":
        return f"{where} failed: {status.reason or ''} {status.message or ''}".strip()
    return None


def _failed_condition(job: Any) -> Any:
    for condition in (job.status.conditions or []) if job.status else []:
        if condition.type == "Failed" and condition.status == "True":
            return condition
    return None


def _deadline_message(api: Any, job: Any, namespace: str, failed: Any) -> str:
    deadline = job.spec.active_deadline_seconds if job.spec else None
    limit = f" of {deadline} s" if deadline else ""
    return (f"Kubernetes job {namespace}/{job.metadata.name} exceeded its deadline{limit} "
            f"(DeadlineExceeded: {failed.message or 'Job was active longer than specified deadline'})"
            f"{_pods_note(api, job, namespace)}; raise @timeout, or check why the pod was slow to start")


def _pods_note(api: Any, job: Any, namespace: str) -> str:
    """The Job's pods by name, from the job controller's SuccessfulCreate events: a pod
    deleted at the deadline is gone from the API, but its name is still useful for logs."""
    try:
        events = api.core_api.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={job.metadata.name}").items
    except Exception:  # noqa: BLE001
        return ""
    names = [e.message.split("Created pod: ", 1)[1] for e in events
             if e.reason == "SuccessfulCreate" and e.message and "Created pod: " in e.message]
    return f"; pod {', '.join(f'{namespace}/{n}' for n in names)}" if names else ""


def _log_tail(core: Any, namespace: str, pod: str, container: str) -> str:
    try:
        response = core.read_namespaced_pod_log(pod, namespace, container=container,
                                                tail_lines=LOG_TAIL_LINES, _preload_content=False)
        return response.data.decode(errors="replace").rstrip()
    except Exception:  # noqa: BLE001
        return ""


def _latest_event(core: Any, namespace: str, pod_name: str, reason: str | None = None) -> str | None:
    try:
        events = core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={pod_name}").items
    except Exception:  # noqa: BLE001
        return None
    if reason:
        events = [e for e in events if e.reason == reason]
    warnings = [e for e in events if e.type == "Warning"] or events
    return warnings[-1].message if warnings else None

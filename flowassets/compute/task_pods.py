"""Tasks as Kubernetes pods: one Job per task, at most ``max_pods`` task pods of a run at once.

Metaflow's promise for ``@kubernetes`` is that "executing a foreach step launches parallel
Kubernetes pods with the specified resources for the step". A step op that runs on Kubernetes
therefore does not fork its tasks inside one pod: it hands each task to a Job of its own.

- **Built by dagster-k8s.** Each Job is ``dagster_k8s.job.construct_dagster_k8s_job`` over the
  container context ``K8sStepHandler`` uses for step pods (run launcher, then executor config,
  then the step's ``dagster-k8s/config`` op tag, then ``per_step_k8s_config``), so a task pod has
  exactly the resources, image, volumes and labels its step pod would have. No pod dict is
  written here. ``PipesK8sClient`` was not used: it makes one bare Pod per blocking call and
  polls each pod on its own, where a 1,000-task foreach wants Jobs (deadline, no restarts) and
  one bulk poll.
- **Polled in bulk.** Each tick lists the run's *live* task pods once (label selector plus
  ``status.phase`` field selector), whatever the width. A task reports through the artifact
  store (its ``TaskRecord`` and its output, written by ``runtime.task_worker``), so a task that
  succeeds costs one create request and its share of the list calls; only a task whose pod dies
  without a result costs a few more (Job status, pods, log) to explain why.
- **Bounded.** Before creating, the run's live task pods are counted (other steps' too), so at
  most ``max_pods`` exist at once (Metaflow's ``--max-workers``). Two steps polling at the same
  moment can each see the same free room once; the overshoot is at most one tick's creations.
- **Cleaned up.** When the consumer stops early (a task failed for good, the run was cancelled,
  the process got SIGTERM) the generator's ``finally`` deletes every Job it started that is
  still running; finished ones stay for ``kubectl logs``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import time
from dataclasses import dataclass, field
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..errors import FlowassetsError
from .kubernetes import FLOW_LABEL, RUN_LABEL, STEP_LABEL
from .outcome import TaskOutcome

TASK_COMPONENT = "flowassets-task"
TASK_LABEL = "flowassets.io/task"
INDEX_LABEL = "flowassets.io/foreach-index"
ATTEMPT_LABEL = "flowassets.io/attempt"
WORKER_MODULE = "flowassets.runtime.task_worker"
POLL_ENV = "FLOWASSETS_KUBERNETES_POLL_S"
DEFAULT_POLL_S = 1.0
PENDING_TIMEOUT_ENV = "FLOWASSETS_KUBERNETES_PENDING_TIMEOUT_S"
DEFAULT_PENDING_TIMEOUT_S = 600.0
#: The opt-in for a local store on a volume mounted at the same path in every pod.
SHARED_LOCAL_STORE_ENV = "FLOWASSETS_DATASTORE_LOCAL_SHARED"
#: A Job whose pod was never seen live is asked about at most this often (one GET).
PROBE_EVERY_S = 10.0
_LIVE_PHASES = "status.phase!=Succeeded,status.phase!=Failed"


@dataclass(frozen=True)
class TaskPayload:
    """Everything a task pod needs to run one task; the launching process writes it to the store."""

    spec: Any  # runtime.task.TaskSpec
    run_id: str
    flow_file: str
    flow_name: str
    max_num_splits: int
    origin_run_id: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict)  # the start step's
    env: Mapping[str, str] = field(default_factory=dict)  # set in the pod before the task runs
    tags: frozenset[str] = frozenset()  # the run's user tags, for current.tags
    #: the Config values the job was built with: the pod builds the same flow from them
    configs: Mapping[str, Any] = field(default_factory=dict)
    #: the ``--with`` decorators the job was built with (``DecoratorSpec``s): the same graph
    with_decorators: tuple = ()


@dataclass(frozen=True)
class PodTarget:
    """Where and how a step's task pods are made: cluster, namespace, Job config."""

    api: Any  # dagster_k8s.client.DagsterKubernetesClient
    job_config: Any  # dagster_k8s.job.DagsterK8sJobConfig
    user_config: Any  # dagster_k8s.job.UserDefinedDagsterK8sConfig, the step's pod
    namespace: str
    run_id: str
    pending_timeout_s: float = DEFAULT_PENDING_TIMEOUT_S
    poll_s: float = DEFAULT_POLL_S


@dataclass(frozen=True)
class PodJob:
    """One task's Job: its name, labels and worker arguments, and where its result lands."""

    item: Any
    name: str
    labels: Mapping[str, str]
    args: tuple[str, ...]
    result_key: str
    deadline_s: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    #: Called with the run's live task pods before creating this Job: the extra environment it
    #: needs from them (a @parallel node: node 0's pod IP), or None to wait for the next tick.
    needs: Callable[[list[Any]], Mapping[str, str] | None] | None = None


@dataclass
class _Live:
    job: PodJob
    created: float
    seen: bool = False
    pod_name: str | None = None
    last_probe: float = 0.0


# -- building the target ------------------------------------------------------------------------

def executor_container_context(config: Mapping[str, Any]) -> Any:
    """The k8s executor config (``execution: config:``) as a ``K8sContainerContext``: the
    same fields dagster-k8s's ``k8s_job_executor`` reads, for step pods and task pods alike."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import UserDefinedDagsterK8sConfig

    return K8sContainerContext(
        image_pull_policy=config.get("image_pull_policy"),
        image_pull_secrets=config.get("image_pull_secrets"),
        service_account_name=config.get("service_account_name"),
        env_config_maps=config.get("env_config_maps"), env_secrets=config.get("env_secrets"),
        env_vars=config.get("env_vars"), volume_mounts=config.get("volume_mounts"),
        volumes=config.get("volumes"), labels=config.get("labels"),
        namespace=config.get("job_namespace"), resources=config.get("resources"),
        scheduler_name=config.get("scheduler_name"),
        security_context=config.get("security_context"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(config.get("step_k8s_config", {})),
    )


def has_k8s_run_launcher(instance: Any) -> bool:
    """Kubernetes settings (cluster access, image, namespace) live in the instance's
    K8sRunLauncher, as for any dagster-k8s deployment; without one there is no cluster."""
    return type(instance.run_launcher).__name__ == "K8sRunLauncher"


def target_for_step(instance: Any, run: Any, op_tags: Mapping[str, Any], op_name: str,
                    execution_config: Mapping[str, Any] | None = None) -> PodTarget:
    """The task pods' target for one step, resolved the way ``K8sStepHandler`` resolves a step pod."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import UserDefinedDagsterK8sConfig, get_user_defined_k8s_config

    config = dict(execution_config or {})
    launcher = instance.run_launcher
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False)
    context = context.merge(executor_container_context(config))
    user = get_user_defined_k8s_config(op_tags)
    per_op = UserDefinedDagsterK8sConfig.from_dict(config.get("per_step_k8s_config", {}).get(op_name, {}))
    context = context.merge(K8sContainerContext(run_k8s_config=user)).merge(
        K8sContainerContext(run_k8s_config=per_op))
    job_config = context.get_k8s_job_config(config.get("job_image"), launcher)
    if not job_config.job_image and run.job_code_origin is not None:
        job_config = job_config.with_image(run.job_code_origin.repository_origin.container_image)
    if not job_config.job_image:
        raise FlowassetsError(
            f"step op {op_name}: no image for its task pods. Set @kubernetes(image=...), "
            "FLOWASSETS_KUBERNETES_CONTAINER_IMAGE, or job_image on the K8sRunLauncher.")
    namespace = user.job_metadata.get("namespace") or context.namespace or "default"
    load_incluster = config.get("load_incluster_config", launcher.load_incluster_config)
    kubeconfig = config.get("kubeconfig_file", launcher.kubeconfig_file)
    return PodTarget(
        api=cluster_client(load_incluster, kubeconfig), job_config=job_config,
        user_config=context.run_k8s_config, namespace=namespace, run_id=run.run_id,
        pending_timeout_s=float(config.get("pending_timeout_seconds")
                                or os.environ.get(PENDING_TIMEOUT_ENV, DEFAULT_PENDING_TIMEOUT_S)),
        poll_s=float(os.environ.get(POLL_ENV, DEFAULT_POLL_S)),
    )


def cluster_client(load_incluster: bool, kubeconfig_file: str | None) -> Any:
    """dagster-k8s's client over its own configuration (the process-wide default stays as it is)."""
    import kubernetes
    from dagster_k8s.client import DagsterKubernetesClient

    configuration = kubernetes.client.Configuration()
    if load_incluster and not kubeconfig_file:
        kubernetes.config.load_incluster_config(client_configuration=configuration)
    else:
        kubernetes.config.load_kube_config(config_file=kubeconfig_file, client_configuration=configuration)
    api_client = kubernetes.client.ApiClient(configuration)
    return DagsterKubernetesClient.production_client(
        batch_api_override=kubernetes.client.BatchV1Api(api_client),
        core_api_override=kubernetes.client.CoreV1Api(api_client))


def check_store_reaches_pods(location: str, flow: str) -> None:
    """Pods never share a disk on a cluster: a local store would lose every task's artifacts.

    Metaflow refuses ``--datastore=local`` with ``@kubernetes`` for the same reason."""
    kind, _, root = location.partition(":")
    if kind == "local" and os.environ.get(SHARED_LOCAL_STORE_ENV, "").lower() not in ("1", "true", "yes"):
        raise FlowassetsError(
            f"flow {flow}: steps run in Kubernetes pods, which do not share this machine's disk, "
            f"but the artifact store is the local folder {root}. Set FLOWASSETS_DATASTORE=s3 (or gs, "
            "azure) with FLOWASSETS_DATASTORE_SYSROOT_S3=s3://bucket/prefix (or pass --datastore); or, "
            f"if {root} is a volume mounted at that path in every pod, set {SHARED_LOCAL_STORE_ENV}=1. "
            "Nothing was launched.")


# -- naming -------------------------------------------------------------------------------------

def job_name(run_id: str, step: str, task_id: str, attempt: int) -> str:
    """``fa-<step>-<task>-<run>[-a<attempt>]``: readable in ``kubectl get jobs``, <= 63 characters,
    unique per run, step, task and attempt (a hash keeps truncated names apart)."""
    readable = re.sub(r"[^a-z0-9-]+", "-", f"{step}-{task_id}".lower()).strip("-")
    digest = hashlib.sha256(f"{run_id}/{step}/{task_id}".encode()).hexdigest()[:6]
    suffix = f"-{run_id[:8].lower()}{digest}" + (f"-a{attempt}" if attempt else "")
    return f"fa-{readable[: 63 - 3 - len(suffix)].rstrip('-')}{suffix}"


def task_labels(flow: str, step: str, run_id: str, task_id: str, index: int | None,
                attempt: int) -> dict[str, str]:
    labels = {FLOW_LABEL: flow, STEP_LABEL: step, RUN_LABEL: run_id, TASK_LABEL: task_id,
              ATTEMPT_LABEL: str(attempt)}
    if index is not None:
        labels[INDEX_LABEL] = str(index)
    return labels


def run_selector(run_id: str) -> str:
    from dagster_k8s.utils import sanitize_k8s_label

    return f"{RUN_LABEL}={sanitize_k8s_label(run_id)},app.kubernetes.io/component={TASK_COMPONENT}"


# -- running --------------------------------------------------------------------------------------

def run_pod_jobs(jobs: Iterable[PodJob], target: PodTarget, max_pods: int,
                 backend: Any) -> Iterator[TaskOutcome]:
    """Create each job when there is room, yield each task's outcome as it ends (any order)."""
    queue = iter(jobs)
    waiting: PodJob | None = next(queue, None)
    live: dict[str, _Live] = {}
    try:
        while waiting is not None or live:
            pods = _live_task_pods(target)
            by_job = {(p.metadata.labels or {}).get("job-name"): p for p in pods}
            # Ended tasks are read before any new Job is made: a failed task stops the step (the
            # caller closes this generator), and a pod created in between would be one too many.
            for name, state in list(live.items()):
                outcome = _check(state, by_job.get(name), target, backend)
                if outcome is not None:
                    del live[name]
                    yield outcome
            # A Job counts against the limit while its pod is listed, or until its pod was first
            # seen (the job controller has not made it yet).
            unseen = sum(1 for name, state in live.items() if not state.seen and name not in by_job)
            room = max(1, max_pods) - len(pods) - unseen
            while waiting is not None and room > 0:
                if waiting.needs is not None:
                    extra = waiting.needs(pods)
                    if extra is None:
                        break  # what it needs is not there yet: the next tick asks again
                    waiting = replace(waiting, env={**waiting.env, **extra}, needs=None)
                _create(target, waiting)
                live[waiting.name] = _Live(waiting, time.monotonic())
                waiting, room = next(queue, None), room - 1
            if waiting is not None or live:
                time.sleep(target.poll_s)
    finally:
        for name in live:
            delete_job(target.api, name, target.namespace)


def _live_task_pods(target: PodTarget) -> list[Any]:
    return target.api.core_api.list_namespaced_pod(
        target.namespace, label_selector=run_selector(target.run_id), field_selector=_LIVE_PHASES).items


def _create(target: PodTarget, job: PodJob) -> None:
    from dagster_k8s.job import UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

    user = target.user_config
    if job.deadline_s:
        user = UserDefinedDagsterK8sConfig(
            container_config=user.container_config, pod_template_spec_metadata=user.pod_template_spec_metadata,
            pod_spec_config=user.pod_spec_config, job_config=user.job_config,
            job_metadata=user.job_metadata,
            job_spec_config={**user.job_spec_config, "active_deadline_seconds": job.deadline_s},
            merge_behavior=user.merge_behavior)
    body = construct_dagster_k8s_job(
        job_config=target.job_config, args=list(job.args), job_name=job.name, pod_name=job.name,
        component=TASK_COMPONENT, user_defined_k8s_config=user, labels=dict(job.labels),
        env_vars=[{"name": k, "value": v} for k, v in job.env.items()])
    target.api.create_namespaced_job_with_retries(body=body, namespace=target.namespace)


def _check(state: _Live, pod: Any, target: PodTarget, backend: Any) -> TaskOutcome | None:
    """The task's outcome if it ended, else None (and the pod noted as seen)."""
    from .pod_diagnosis import FATAL_WAITING, diagnose_pod

    job = state.job
    now = time.monotonic()
    if pod is not None:
        state.seen, state.pod_name = True, pod.metadata.name
        if pod.status and pod.status.phase == "Pending":
            waiting = [cs.state.waiting.reason for cs in pod.status.container_statuses or ()
                       if cs.state and cs.state.waiting]
            waited = now - state.created
            if any(r in FATAL_WAITING for r in waiting) or waited >= target.pending_timeout_s:
                problem = diagnose_pod(pod, target.api.core_api, target.namespace, waited,
                                       target.pending_timeout_s)
                if problem:
                    delete_job(target.api, job.name, target.namespace)
                    return TaskOutcome(job.item, crash=problem)
        return None
    outcome = _result(job, backend)
    if outcome is not None:
        return outcome
    if not state.seen and now - state.last_probe < PROBE_EVERY_S:
        return None
    state.last_probe = now
    status = _job_status(target, job.name)
    if not state.seen and status is not None and not _finished(status):
        return None  # the job controller has not made its pod yet
    return _result(job, backend) or _explain(job, target, now - state.created)


def _result(job: PodJob, backend: Any) -> TaskOutcome | None:
    """What the task worker wrote: ("ok", record, stdout, stderr) or ("error", type, text,
    stdout, stderr)."""
    try:
        raw = backend.get_bytes(job.result_key) if backend.exists(job.result_key) else None
    except Exception:  # noqa: BLE001 - an unreadable result is explained like a missing one
        raw = None
    if raw is None:
        return None
    payload = pickle.loads(raw)
    if payload[0] == "ok":
        return TaskOutcome(job.item, value=payload[1], stdout=payload[2], stderr=payload[3])
    return TaskOutcome(job.item, error=payload[2], error_type=payload[1], stdout=payload[3],
                       stderr=payload[4])


def _job_status(target: PodTarget, name: str) -> Any:
    try:
        return target.api.batch_api.read_namespaced_job_status(name, target.namespace).status
    except Exception:  # noqa: BLE001 - deleted under us: explained by _explain
        return None


def _finished(status: Any) -> bool:
    if (status.succeeded or 0) or (status.failed or 0):
        return True
    return any(c.type in ("Complete", "Failed") and c.status == "True" for c in status.conditions or ())


def _explain(job: PodJob, target: PodTarget, waited_s: float) -> TaskOutcome:
    """A pod that ended without a result: name it and say what Kubernetes says about it."""
    from .pod_diagnosis import diagnose_step_job, job_pods

    reason = diagnose_step_job(target.api, job.name, target.namespace, waited_s, float("inf"))
    log = b""
    try:
        pods = job_pods(target.api, job.name, target.namespace)
        if pods:
            pod = max(pods, key=lambda p: p.metadata.creation_timestamp or 0)
            reason = reason or f"pod {target.namespace}/{pod.metadata.name} ended without reporting a result"
            # Kubernetes merges a container's stdout and stderr into one log: kept as stdout.
            log = target.api.core_api.read_namespaced_pod_log(
                pod.metadata.name, target.namespace, _preload_content=False).data
    except Exception:  # noqa: BLE001 - the reason matters more than the log
        pass
    return TaskOutcome(job.item, crash=reason or f"Kubernetes job {target.namespace}/{job.name} "
                       "ended without a pod reporting a result", stdout=log)


def delete_job(api: Any, name: str, namespace: str) -> None:
    """Delete a Job and (Background propagation) its pods; gone already is fine."""
    try:
        api.batch_api.delete_namespaced_job(name, namespace, propagation_policy="Background")
    except Exception:  # noqa: BLE001 - best effort: the step is failing or being cancelled
        pass


def delete_run_task_jobs(api: Any, namespace: str, run_id: str, step: str | None = None) -> list[str]:
    """Delete every unfinished task Job of a run (or of one step): cancelling a run from another
    process, where the launching generator cannot clean up itself. Returns the names deleted."""
    from dagster_k8s.utils import sanitize_k8s_label

    selector = run_selector(run_id) + (f",{STEP_LABEL}={sanitize_k8s_label(step)}" if step else "")
    deleted = []
    for job in api.batch_api.list_namespaced_job(namespace, label_selector=selector).items:
        if not (job.status.succeeded or job.status.failed or job.metadata.deletion_timestamp):
            delete_job(api, job.metadata.name, namespace)
            deleted.append(job.metadata.name)
    return deleted


def delete_orphaned_task_jobs(instance: Any, run_id: str) -> list[str]:
    """A run whose driver died: its unfinished task Jobs in the launcher's namespace (where a
    step without its own ``@kubernetes(namespace=...)`` puts them)."""
    launcher = instance.run_launcher
    api = cluster_client(launcher.load_incluster_config, launcher.kubeconfig_file)
    return delete_run_task_jobs(api, launcher.job_namespace or "default", run_id)

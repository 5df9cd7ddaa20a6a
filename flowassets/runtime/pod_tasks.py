"""A step's tasks as Kubernetes pods: the runtime's side of ``compute.task_pods``.

Writes each task's payload to the store just before its Job is created (a 1,000-task foreach
does not write 1,000 payloads before the first pod starts) and hands the Jobs to the launcher.
@parallel nodes are task pods too, through the same launcher: node 0's pod is created first
and listens on its own pod IP; nodes 1..N-1 are created once that IP is known, with it as
``current.parallel.main_ip`` (as ``torch.distributed``'s ``MASTER_ADDR``).
"""

from __future__ import annotations

import pickle
from typing import Any, Callable, Iterator

from ..compute.kubernetes import DEADLINE_GRACE_S, MAIN_IP_ENV
from ..compute.outcome import TaskOutcome
from ..compute.spec import timeout_seconds
from ..compute.task_pods import (
    WORKER_MODULE, PodJob, PodTarget, TaskPayload, job_name, run_pod_jobs, task_labels,
)
from ..storage.backend import safe_key
from ..storage.select import location_of
from .task import RunContext, TaskSpec


def run_in_pods(todo: list[TaskSpec], ctx: RunContext, target: PodTarget,
                max_pods: int) -> Iterator[TaskOutcome]:
    backend = ctx.store.backend
    location = location_of(backend)
    flow = ctx.graph.flow_name
    flow_file = ctx.graph.file  # the pod imports the flow from it (never None: translate checks)

    gang = ctx.graph.is_parallel_node(ctx.graph[todo[0].step]) if todo else False

    def jobs() -> Iterator[PodJob]:
        control: str | None = None
        for spec in todo:
            key = safe_key(flow, "runs", ctx.run_id, spec.step, "pods", f"{spec.task_id}.{spec.attempt}")
            payload = TaskPayload(spec, ctx.run_id, flow_file, ctx.flow_cls.__name__, ctx.max_num_splits,
                                  ctx.origin_run_id, dict(ctx.parameters) if spec.step == "start" else {},
                                  tags=ctx.tags, configs=ctx.graph.config_values(),
                                  with_decorators=ctx.graph.with_decorators)
            backend.put_bytes(key + ".spec", pickle.dumps(payload, protocol=5))
            index = spec.foreach_stack[-1].index if spec.foreach_stack else None
            name = job_name(ctx.run_id, spec.step, spec.task_id, spec.attempt)
            yield PodJob(
                item=spec, name=name,
                labels=task_labels(flow, spec.step, ctx.run_id, spec.task_id, index, spec.attempt),
                args=("python", "-m", WORKER_MODULE, location, flow, key), result_key=key + ".result",
                deadline_s=task_deadline_s(ctx, spec.step),
                needs=_main_ip_of(control) if gang and control else None)
            if gang and control is None:
                control = name

    return run_pod_jobs(jobs(), target, max_pods, backend)


def _main_ip_of(control_job: str) -> Callable[[list[Any]], dict[str, str] | None]:
    """Node 0's pod IP, once its pod has one, for the other @parallel nodes (kept once seen:
    the later nodes' Jobs may be created after node 0's pod has left the live list)."""
    seen: dict[str, str] = {}

    def needs(pods: list[Any]) -> dict[str, str] | None:
        for pod in pods:
            if (pod.metadata.labels or {}).get("job-name") == control_job and pod.status and pod.status.pod_ip:
                seen[MAIN_IP_ENV] = pod.status.pod_ip
        return dict(seen) or None

    return needs


def task_deadline_s(ctx: RunContext, step: str) -> int | None:
    """@timeout is each task pod's own Job deadline (one attempt per pod); None keeps the
    step's (5 days by default). The grace lets the runtime's @timeout, which @catch can take,
    fire first."""
    limit = timeout_seconds(ctx.graph[step].decorators)
    return limit + DEADLINE_GRACE_S if limit else None

"""Executors: which steps run where.

``flowassets_hybrid_executor`` is dagster-k8s's step-delegating machinery with one change: a
step whose op carries Kubernetes config (``@kubernetes`` or ``--with kubernetes``) is launched by
dagster-k8s's own ``K8sStepHandler`` as a Kubernetes Job; every other step runs as a local
``dagster api execute_step`` process beside the run worker, as Metaflow runs undecorated steps
locally. On top of dagster-k8s it adds what its issue tracker asks for: pods labelled with the
flow, step and run id; the pod name, namespace and node recorded on the step (dagster-k8s
#8938); pod failures explained from the pod's status and events (OOMKilled, Unschedulable,
image pull errors, eviction, deadline) instead of "Discovered failed Kubernetes job" or a pod
that stays Pending forever (#13593, #24595).

``EXECUTORS`` is the one list of executor names a translator setting or the CLI can pick.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Iterator

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.executor.step_delegating import (
    CheckStepHealthResult, StepDelegatingExecutor, StepHandler, StepHandlerContext,
)
from dagster._core.execution.retries import RetryMode
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.executor import _K8S_EXECUTOR_CONFIG_SCHEMA, K8sStepHandler
from dagster_k8s.job import get_user_defined_k8s_config

from . import pod_diagnosis
from .drivers import die_with_parent
from . import task_pods
from .local_executor import DrivenInProcessExecutor, cancel_on_interrupt, flowassets_in_process_executor
from .kubernetes import COMPUTE_TAG, K8S_CONFIG_TAG, RUN_LABEL, TASK_PODS_TAG


def runs_on_kubernetes(step_tags: dict[str, Any]) -> bool:
    """Whether the step's op gets a pod. A step whose tasks get pods of their own
    (``TASK_PODS_TAG``) runs its op beside the run worker, which launches them."""
    if step_tags.get(TASK_PODS_TAG):
        return False
    return step_tags.get(COMPUTE_TAG) == "kubernetes" or K8S_CONFIG_TAG in step_tags


def _step_key(context: StepHandlerContext) -> str:
    return context.execute_step_args.step_keys_to_execute[0]


#: How long a terminated local step may take to stop (it deletes its task pods) before SIGKILL.
TERMINATE_GRACE_S = 20.0


class LocalProcessStepHandler(StepHandler):
    """Runs a step as ``dagster api execute_step`` in a local child process, with the running
    interpreter (``/venv/bin/flowassets run`` must work without the venv on PATH)."""

    def __init__(self) -> None:
        super().__init__()
        self._processes: dict[tuple[str, str], subprocess.Popen] = {}

    @property
    def name(self) -> str:
        return "FlowassetsLocalProcessStepHandler"

    @staticmethod
    def _key(context: StepHandlerContext) -> tuple[str, str]:
        return context.execute_step_args.run_id, _step_key(context)

    def launch_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        run_id, step = self._key(context)
        args = context.execute_step_args.get_command_args(skip_serialized_namedtuple=True)
        if args and args[0] == "dagster":
            args = [sys.executable, "-m", "dagster", *args[1:]]
        env = {**os.environ, **{e["name"]: e["value"] for e in context.execute_step_args.get_command_env()}}
        yield DagsterEvent.step_worker_starting(
            context.get_step_context(step), message=f'Executing step "{step}" in a local process.',
            metadata={"compute": dg.MetadataValue.text("local")})
        parent = os.getpid()
        # SIGTERM when the run worker dies: Dagster turns it into an interrupt, so the step
        # deletes its task pods rather than going on creating them for a run no one drives.
        self._processes[(run_id, step)] = subprocess.Popen(
            args, env=env, preexec_fn=lambda: die_with_parent(parent, signal.SIGTERM))

    def check_step_health(self, context: StepHandlerContext) -> CheckStepHealthResult:
        process = self._processes.get(self._key(context))
        if process is None:
            return CheckStepHealthResult.unhealthy("the step's local process was not found")
        code = process.poll()
        if code not in (None, 0):
            return CheckStepHealthResult.unhealthy(f"the step's local process exited with code {code}")
        return CheckStepHealthResult.healthy()

    def terminate_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        run_id, step = self._key(context)
        process = self._processes.get((run_id, step))
        if process is not None and process.poll() is None:
            # SIGTERM first: Dagster turns it into an interrupt, so the step deletes its task pods.
            process.terminate()
            try:
                process.wait(TERMINATE_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
        yield DagsterEvent.engine_event(context.get_step_context(step),
                                        message=f"Killed local process of step {step}",
                                        event_specific_data=EngineEventData())


class FlowassetsK8sStepHandler(K8sStepHandler):
    """dagster-k8s's step handler, plus the run-id label and the step's own namespace.

    dagster-k8s takes the namespace from the executor or launcher only; a step that asked for
    ``@kubernetes(namespace=...)`` (or the ``FLOWASSETS_KUBERNETES_NAMESPACE`` fallback, applied
    when the job was built) goes there, and its Job is looked up and deleted there too."""

    def _get_container_context(self, step_handler_context: StepHandlerContext) -> K8sContainerContext:
        context = super()._get_container_context(step_handler_context)
        tags = step_handler_context.step_tags[self._get_step_key(step_handler_context)]
        namespace = get_user_defined_k8s_config(tags).job_metadata.get("namespace")
        extra = K8sContainerContext(labels={RUN_LABEL: step_handler_context.execute_step_args.run_id},
                                    namespace=namespace)
        return context.merge(extra)


class HybridStepHandler(StepHandler):
    """Routes each step to Kubernetes or a local process by its op tags, and explains pods."""

    def __init__(self, k8s_factory: Callable[[], K8sStepHandler], pending_timeout_s: float):
        super().__init__()
        self._k8s_factory = k8s_factory
        self._k8s: K8sStepHandler | None = None
        self._local = LocalProcessStepHandler()
        self._pending_timeout_s = pending_timeout_s
        self._launched_at: dict[str, float] = {}
        #: step key -> (job name, namespace) of steps launched on Kubernetes
        self.k8s_jobs: dict[str, tuple[str, str]] = {}
        #: step key -> Kubernetes reason found after the step's own process reported a failure
        self.explained: dict[str, str] = {}

    @property
    def name(self) -> str:
        return "FlowassetsHybridStepHandler"

    @property
    def k8s(self) -> K8sStepHandler:
        if self._k8s is None:
            self._k8s = self._k8s_factory()
        return self._k8s

    def on_kubernetes(self, context: StepHandlerContext) -> bool:
        return runs_on_kubernetes(dict(context.step_tags[_step_key(context)]))

    def launch_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        step = _step_key(context)
        self._launched_at[step] = time.monotonic()
        if not self.on_kubernetes(context):
            yield from self._local.launch_step(context)
            return
        handler = self.k8s
        job_name = handler._get_k8s_step_job_name(context)
        self.k8s_jobs[step] = (job_name, handler._get_container_context(context).namespace)
        yield from handler.launch_step(context)

    def check_step_health(self, context: StepHandlerContext) -> CheckStepHealthResult:
        step = _step_key(context)
        if not self.on_kubernetes(context):
            return self._local.check_step_health(context)
        if step in self.explained:
            return CheckStepHealthResult.unhealthy(self.explained.pop(step))
        job_name, namespace = self.k8s_jobs.get(step) or (
            self.k8s._get_k8s_step_job_name(context), self.k8s._get_container_context(context).namespace)
        def diagnose() -> str | None:
            waited = time.monotonic() - self._launched_at.get(step, time.monotonic())
            return pod_diagnosis.diagnose_step_job(self.k8s._api_client, job_name, namespace, waited,
                                                   self._pending_timeout_s)

        problem = diagnose()
        if problem is not None:
            return CheckStepHealthResult.unhealthy(problem)
        result = self.k8s.check_step_health(context)
        if not result.is_healthy:
            # The Job failed between the two reads (dagster-k8s read it later): explain it now
            # rather than pass on "Discovered failed Kubernetes job" without pod or reason.
            problem = diagnose()
        return CheckStepHealthResult.unhealthy(problem) if problem else result

    def terminate_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        if self.on_kubernetes(context):
            yield from self.k8s.terminate_step(context)
            return
        yield from self._local.terminate_step(context)
        tags = dict(context.step_tags[_step_key(context)])
        if tags.get(TASK_PODS_TAG):
            # The step process deletes its task pods as it stops; if it was killed first, this
            # finds them by label.
            namespace = self.k8s._get_container_context(context).namespace or "default"
            step = tags.get("flowassets/step") or _step_key(context)
            task_pods.delete_run_task_jobs(self.k8s._api_client, namespace,
                                           context.execute_step_args.run_id, step)


class HybridExecutor(StepDelegatingExecutor):
    """StepDelegatingExecutor that records where each Kubernetes step's pod ran, and replaces
    a step's own "interrupted" failure by the Kubernetes reason it was killed for.

    When Kubernetes kills a running pod (Job deadline, eviction), the step process gets SIGTERM
    and reports "interrupted" before any health check could see why; the executor holds that
    failure back and fails the step with the pod's reason instead (both stay in the event log,
    the reason last)."""

    def __init__(self, handler: HybridStepHandler, **kwargs: Any):
        super().__init__(handler, **kwargs)
        self._hybrid = handler

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[DagsterEvent]:
        check_store(plan_context.run_config, plan_context.job_name,  # before any pod exists
                     store_defaults(plan_context.job.get_definition()))
        recorded: set[tuple[str, str]] = set()
        for event in cancel_on_interrupt(plan_context, super().execute(plan_context, execution_plan)):
            yield event
            step = event.step_key
            job = self._hybrid.k8s_jobs.get(step) if event.event_type_value == "STEP_START" else None
            if job is not None and job not in recorded:  # once per pod Job (a retry has its own)
                recorded.add(job)
                self._record_pod(plan_context.for_step(execution_plan.get_step_by_key(step)), step)

    def _record_pod(self, step_context: Any, step: str) -> None:
        job_name, namespace = self._hybrid.k8s_jobs[step]
        placement = pod_diagnosis.pod_placement(self._hybrid.k8s._api_client, job_name, namespace)
        if placement is None:
            return
        DagsterEvent.engine_event(
            step_context, f"Step {step} runs in pod {namespace}/{placement.pod} on node {placement.node}",
            EngineEventData(metadata={
                "pod name": dg.MetadataValue.text(placement.pod),
                "namespace": dg.MetadataValue.text(namespace),
                "node": dg.MetadataValue.text(placement.node),
                "node IP": dg.MetadataValue.text(placement.node_ip or ""),
                "Kubernetes Job name": dg.MetadataValue.text(job_name),
            }))

    def _pop_events(self, instance: Any, run_id: str, seen_storage_ids: set[int]) -> list[DagsterEvent]:
        events = list(super()._pop_events(instance, run_id, seen_storage_ids))
        kept = []
        for event in events:
            step = event.step_key
            if event.event_type_value == "STEP_FAILURE" and step in self._hybrid.k8s_jobs \
                    and _interrupted(event):
                job_name, namespace = self._hybrid.k8s_jobs[step]
                reason = pod_diagnosis.kill_reason(self._hybrid.k8s._api_client, job_name, namespace)
                if reason is not None:
                    self._hybrid.explained[step] = reason
                    # The next health check fails the step with the reason: within a second,
                    # not after up to the configured interval.
                    self._check_step_health_interval_seconds = min(
                        self._check_step_health_interval_seconds, 1)
                    continue
            kept.append(event)
        return kept


def store_defaults(job_def: Any) -> dict[str, Any]:
    """The job's store resource's own settings (e.g. ``S3StoreResource``'s datastore "s3" and
    root), which run config may override."""
    resource_def = job_def.resource_defs.get("flowassets_store")
    if resource_def is None:
        return {}
    schema = resource_def.config_schema
    return dict(schema.default_value or {}) if schema.default_provided else {}


def check_store(run_config: Any, job_name: str, defaults: dict[str, Any] | None = None) -> None:
    """Refuse a local store when steps get pods (``task_pods.check_store_reaches_pods``): the
    store the run config names, else the store resource's own settings, else the
    environment's, as the store resource resolves it."""
    from ..storage import select

    given = (((run_config or {}).get("resources") or {}).get("flowassets_store") or {}).get("config") or {}
    config = {**(defaults or {}), **given}
    location = select.location(config.get("datastore"), config.get("sysroot"))
    task_pods.check_store_reaches_pods(location, job_name)


def _interrupted(event: DagsterEvent) -> bool:
    error = getattr(event.event_specific_data, "error", None)
    while error is not None:
        if error.cls_name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
            return True
        error = error.cause
    return False


_HYBRID_CONFIG = {
    **_K8S_EXECUTOR_CONFIG_SCHEMA,
    "pending_timeout_seconds": dg.Field(
        float, default_value=600.0, is_required=False,
        description="Fail a Kubernetes step whose pod cannot be scheduled for this long."),
    "health_check_interval_seconds": dg.Field(
        int, default_value=20, is_required=False,
        description="How often running steps' pods/processes are checked (Dagster's default 20)."),
}


def _k8s_handler_factory(init_context: Any) -> Callable[[], K8sStepHandler]:
    config = init_context.executor_config

    def make() -> K8sStepHandler:
        container_context = task_pods.executor_container_context(config)
        launcher = init_context.instance.run_launcher
        if not hasattr(launcher, "kubeconfig_file"):
            from ..errors import FlowassetsError

            raise FlowassetsError(
                "a step runs on Kubernetes, but this Dagster instance has no K8sRunLauncher: "
                "configure run_launcher (module dagster_k8s, class K8sRunLauncher) in "
                "$DAGSTER_HOME/dagster.yaml; dagster-k8s's step handler takes the image, "
                "namespace and cluster access from it.")
        load_incluster = config.get("load_incluster_config", launcher.load_incluster_config)
        kubeconfig = config.get("kubeconfig_file", launcher.kubeconfig_file)
        return FlowassetsK8sStepHandler(
            image=config.get("job_image"), container_context=container_context,
            load_incluster_config=load_incluster, kubeconfig_file=kubeconfig,
            per_step_k8s_config=config.get("per_step_k8s_config", {}),
            enable_owner_references=config.get("enable_owner_references", False),
        )

    return make


@dg.executor(name="flowassets_hybrid", config_schema=_HYBRID_CONFIG,
             requirements=dg.multiple_process_executor_requirements())
def flowassets_hybrid_executor(init_context: Any) -> StepDelegatingExecutor:
    """Kubernetes steps as Jobs (dagster-k8s), the rest as local processes, in one run."""
    config = init_context.executor_config
    handler = HybridStepHandler(_k8s_handler_factory(init_context),
                                config.get("pending_timeout_seconds", 600.0))
    return HybridExecutor(
        handler,
        retries=RetryMode.from_config(config["retries"]),
        max_concurrent=config.get("max_concurrent"),
        tag_concurrency_limits=config.get("tag_concurrency_limits"),
        should_verify_step=True,
        check_step_health_interval_seconds=config.get("health_check_interval_seconds", 20),
    )


@dg.executor(name="flowassets", config_schema=_HYBRID_CONFIG)
def flowassets_executor(init_context: Any) -> Any:
    """The default for a flow with Kubernetes steps: the hybrid executor on an instance that has
    a cluster (a K8sRunLauncher, e.g. a Helm deployment), so ``@kubernetes`` steps and their
    tasks get their pods whether the run comes from the UI, ``dagster job launch`` or the CLI;
    in-process on any other instance, where the same definitions run everything locally."""
    if task_pods.has_k8s_run_launcher(init_context.instance):
        return flowassets_hybrid_executor.executor_creation_fn(init_context)
    return DrivenInProcessExecutor(retries=RetryMode.from_config(init_context.executor_config["retries"]))


def _k8s_job_executor() -> dg.ExecutorDefinition:
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor


def _ecs_executor() -> dg.ExecutorDefinition:
    from .batch import batch_executor

    return batch_executor()


#: Executor names for ``FlowTranslatorSettings(executor=...)`` and the CLI: one registry.
EXECUTORS: dict[str, Callable[[], dg.ExecutorDefinition]] = {
    "in_process": lambda: flowassets_in_process_executor,  # Dagster's, + driver record, Ctrl-C
    "multiprocess": lambda: dg.multiprocess_executor,
    "auto": lambda: flowassets_executor,  # hybrid with a K8sRunLauncher, else in-process
    "hybrid": lambda: flowassets_hybrid_executor,
    "k8s": _k8s_job_executor,
    "ecs": _ecs_executor,  # dagster-aws's ecs_executor: @batch steps' ecs/* tags (compute/batch.py)
}


def executor_named(name: str) -> dg.ExecutorDefinition:
    if name not in EXECUTORS:
        from ..errors import FlowassetsError

        raise FlowassetsError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}.")
    return EXECUTORS[name]()

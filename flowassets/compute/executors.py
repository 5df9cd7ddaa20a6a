"""Executors: which steps run where.

``flowassets_hybrid_executor`` is dagster-k8s's step-delegating machinery with one change: a
step whose op carries Kubernetes config (``@kubernetes`` or ``--with kubernetes``) is launched by
dagster-k8s's own ``K8sStepHandler`` as a Kubernetes Job; every other step runs as a local
``dagster api execute_step`` process beside the run worker, as Metaflow runs undecorated steps
locally. Pod failures are explained from the pod's status and events (OOMKilled, Unschedulable,
image pull errors, eviction, deadline) instead of "the job failed".
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any, Iterator

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.executor.step_delegating import (
    CheckStepHealthResult, StepDelegatingExecutor, StepHandler, StepHandlerContext,
)
from dagster._core.execution.retries import RetryMode
from dagster_k8s.executor import _K8S_EXECUTOR_CONFIG_SCHEMA, K8sStepHandler
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import UserDefinedDagsterK8sConfig

COMPUTE_TAG = "flowassets/compute"
K8S_CONFIG_TAG = "dagster-k8s/config"


def runs_on_kubernetes(step_tags: dict[str, Any]) -> bool:
    return step_tags.get(COMPUTE_TAG) == "kubernetes" or K8S_CONFIG_TAG in step_tags


class LocalProcessStepHandler(StepHandler):
    """Runs a step as ``dagster api execute_step`` in a local child process."""

    def __init__(self) -> None:
        super().__init__()
        self._processes: dict[tuple[str, str], subprocess.Popen] = {}

    @property
    def name(self) -> str:
        return "FlowassetsLocalProcessStepHandler"

    @staticmethod
    def _key(context: StepHandlerContext) -> tuple[str, str]:
        return context.execute_step_args.run_id, context.execute_step_args.step_keys_to_execute[0]

    def launch_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        run_id, step = self._key(context)
        args = context.execute_step_args.get_command_args(skip_serialized_namedtuple=True)
        env = {**os.environ, **{e["name"]: e["value"] for e in context.execute_step_args.get_command_env()}}
        yield DagsterEvent.step_worker_starting(
            context.get_step_context(step), message=f'Executing step "{step}" in a local process.',
            metadata={})
        self._processes[(run_id, step)] = subprocess.Popen(args, env=env)

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
            process.kill()
        yield DagsterEvent.engine_event(context.get_step_context(step),
                                        message=f"Killed local process of step {step}",
                                        event_specific_data=EngineEventData())


class HybridStepHandler(StepHandler):
    """Routes each step to Kubernetes or a local process by its op tags."""

    def __init__(self, k8s_factory: Any, pending_timeout_s: float):
        super().__init__()
        self._k8s_factory = k8s_factory
        self._k8s: K8sStepHandler | None = None
        self._local = LocalProcessStepHandler()
        self._pending_timeout_s = pending_timeout_s
        self._launched_at: dict[str, float] = {}

    @property
    def name(self) -> str:
        return "FlowassetsHybridStepHandler"

    def _handler(self, context: StepHandlerContext) -> StepHandler:
        step = context.execute_step_args.step_keys_to_execute[0]
        if runs_on_kubernetes(dict(context.step_tags[step])):
            if self._k8s is None:
                self._k8s = self._k8s_factory()
            return self._k8s
        return self._local

    def launch_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        self._launched_at[context.execute_step_args.step_keys_to_execute[0]] = time.monotonic()
        yield from self._handler(context).launch_step(context)

    def check_step_health(self, context: StepHandlerContext) -> CheckStepHealthResult:
        handler = self._handler(context)
        result = handler.check_step_health(context)
        if handler is self._local:
            return result
        from .pod_diagnosis import diagnose_step_job

        step = context.execute_step_args.step_keys_to_execute[0]
        waited = time.monotonic() - self._launched_at.get(step, time.monotonic())
        problem = diagnose_step_job(self._k8s, context, waited, self._pending_timeout_s)
        if problem is not None:
            return CheckStepHealthResult.unhealthy(problem)
        return result

    def terminate_step(self, context: StepHandlerContext) -> Iterator[DagsterEvent]:
        yield from self._handler(context).terminate_step(context)


_HYBRID_CONFIG = {
    **_K8S_EXECUTOR_CONFIG_SCHEMA,
    "pending_timeout_seconds": dg.Field(
        float, default_value=600.0, is_required=False,
        description="Fail a Kubernetes step whose pod cannot be scheduled for this long."),
}


@dg.executor(name="flowassets_hybrid", config_schema=_HYBRID_CONFIG,
             requirements=dg.multiple_process_executor_requirements())
def flowassets_hybrid_executor(init_context: Any) -> StepDelegatingExecutor:
    """Kubernetes steps as Jobs (dagster-k8s), the rest as local processes, in one run."""
    config = init_context.executor_config

    def make_k8s() -> K8sStepHandler:
        container_context = K8sContainerContext(
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
        launcher = init_context.instance.run_launcher
        load_incluster = config.get("load_incluster_config",
                                    getattr(launcher, "load_incluster_config", True))
        kubeconfig = config.get("kubeconfig_file", getattr(launcher, "kubeconfig_file", None))
        return K8sStepHandler(
            image=config.get("job_image"), container_context=container_context,
            load_incluster_config=load_incluster, kubeconfig_file=kubeconfig,
            per_step_k8s_config=config.get("per_step_k8s_config", {}),
            enable_owner_references=config.get("enable_owner_references", False),
        )

    return StepDelegatingExecutor(
        HybridStepHandler(make_k8s, config.get("pending_timeout_seconds", 600.0)),
        retries=RetryMode.from_config(config["retries"]),
        max_concurrent=config.get("max_concurrent"),
        tag_concurrency_limits=config.get("tag_concurrency_limits"),
        should_verify_step=True,
    )

"""Build a step's Kubernetes Job offline the way dagster-k8s's ``K8sStepHandler.launch_step`` does:
launcher/executor container context, merged with ``get_user_defined_k8s_config(op tags)``, then
``construct_dagster_k8s_job`` with the step worker's labels and environment.

Written out here (not via flowassets' own helper) so the tests check our tags against
dagster-k8s's real code path independently of our implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import dagster as dg
import kubernetes
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    UserDefinedDagsterK8sConfig, construct_dagster_k8s_job, get_k8s_job_name, get_user_defined_k8s_config,
)

RUN_ID = "0f5c5b0e-1111-2222-3333-444455556666"
CODE_IMAGE = "registry.example.com/user-code:1"


@dataclass(frozen=True)
class LauncherSettings:
    """The K8sRunLauncher attributes ``K8sContainerContext.get_k8s_job_config`` reads (a plain
    record: constructing a real K8sRunLauncher needs a kubeconfig, and only these values matter)."""

    job_image: str | None = None
    dagster_home: str = "/opt/dagster/dagster_home"
    instance_config_map: str = "dagster-instance"
    postgres_password_secret: str | None = None


def op_tags(job: dg.JobDefinition, step: str) -> Mapping[str, str]:
    return job.graph.node_named(step).definition.tags


def step_job(job: dg.JobDefinition, step: str = "train",
             launcher_k8s_config: Mapping[str, Any] | None = None) -> kubernetes.client.V1Job:
    tags = op_tags(job, step)
    executor_context = K8sContainerContext(
        namespace="dagster", image_pull_policy="IfNotPresent", service_account_name="dagster",
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(dict(launcher_k8s_config or {})),
    )
    context = executor_context.merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(tags)))
    job_config = context.get_k8s_job_config(CODE_IMAGE, LauncherSettings())
    name = f"dagster-step-{get_k8s_job_name(RUN_ID, step)}"
    return construct_dagster_k8s_job(
        job_config=job_config, args=["dagster", "api", "execute_step"], job_name=name, pod_name=name,
        component="step_worker", user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": job.name, "dagster/op": step, "dagster/run-id": RUN_ID},
        env_vars=[{"name": "DAGSTER_RUN_JOB_NAME", "value": job.name},
                  {"name": "DAGSTER_RUN_STEP_KEY", "value": step}],
    )


def container(job: kubernetes.client.V1Job) -> kubernetes.client.V1Container:
    return job.spec.template.spec.containers[0]


def env(job: kubernetes.client.V1Job) -> dict[str, Any]:
    return {e.name: e.value if e.value is not None else e.value_from for e in container(job).env}


def volumes(job: kubernetes.client.V1Job) -> dict[str, Any]:
    return {v.name: v for v in job.spec.template.spec.volumes or []}


def mounts(job: kubernetes.client.V1Job) -> dict[str, str]:
    """mount path -> volume name."""
    return {m.mount_path: m.name for m in container(job).volume_mounts or []}

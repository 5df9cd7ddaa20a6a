"""@kubernetes / @resources -> dagster-k8s user-defined config: the one place each seed
parameter becomes a pod field.

``k8s_config_for_step`` resolves a step's arguments (its @kubernetes, written or added by
``--with kubernetes``, merged with @resources by taking the larger value, then the
``FLOWASSETS_KUBERNETES_*`` environment fallbacks) into a ``KubernetesStep``, and
``user_defined_config`` turns that into dagster-k8s's own ``UserDefinedDagsterK8sConfig``, whose
fields the ``dagster-k8s/config`` op tag carries to ``K8sStepHandler``. dagster-k8s is imported
only when a step really goes to Kubernetes: it costs ~0.7 s, which a local run should not pay.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..authoring.decorators import KUBERNETES_DEFAULTS, DecoratorSpec
from ..errors import DecoratorError, Problem
from ..graph import model
from ..graph.decorator_checks.kubernetes_values import KUBERNETES_CHECKS, SHM_PATH, parse_key_values
from .spec import Resources, merged_resources, retry_times, timeout_seconds

COMPUTE_TAG = "flowassets/compute"
#: On a step whose tasks each get a pod of their own: its op runs beside the run worker.
TASK_PODS_TAG = "flowassets/task-pods"
K8S_CONFIG_TAG = "dagster-k8s/config"
FLOW_LABEL = "flowassets.io/flow"
STEP_LABEL = "flowassets.io/step"
RUN_LABEL = "flowassets.io/run-id"
COMPUTE_POOL_LABEL = "outerbounds.co/compute-pool"  # Metaflow's label for compute_pool
#: Metaflow's default run time limit on Kubernetes (seed: "a default timeout of 5 days").
DEFAULT_TIMEOUT_S = 5 * 24 * 3600
#: Added to a @timeout-derived Job deadline: pod start-up and image pull count against
#: activeDeadlineSeconds, and the runtime's own @timeout (which @catch can take) must fire first.
DEADLINE_GRACE_S = 120
#: Burstable pods get limits of this many times the request: "can use more if available", yet a
#: launcher's default limit can never end up below our request (the DEEP-merge trap).
BURSTABLE_LIMIT_FACTOR = 2
TMPFS_VOLUME = "flowassets-tmpfs"
SHM_VOLUME = "flowassets-dshm"
ENV_NAMESPACE = "FLOWASSETS_KUBERNETES_NAMESPACE"
ENV_SERVICE_ACCOUNT = "FLOWASSETS_KUBERNETES_SERVICE_ACCOUNT"
ENV_IMAGE = "FLOWASSETS_KUBERNETES_CONTAINER_IMAGE"
ENV_SECRETS = "FLOWASSETS_KUBERNETES_SECRETS"
#: Downward-API variables the step's runtime reads to record where a task ran (as Metaflow does).
POD_NAME_ENV = "FLOWASSETS_KUBERNETES_POD_NAME"
POD_NAMESPACE_ENV = "FLOWASSETS_KUBERNETES_POD_NAMESPACE"
NODE_IP_ENV = "FLOWASSETS_KUBERNETES_NODE_IP"
NODE_NAME_ENV = "FLOWASSETS_KUBERNETES_NODE_NAME"
POD_IP_ENV = "FLOWASSETS_KUBERNETES_POD_IP"
POD_ENV = {POD_NAME_ENV: "metadata.name", POD_NAMESPACE_ENV: "metadata.namespace",
           NODE_IP_ENV: "status.hostIP", NODE_NAME_ENV: "spec.nodeName", POD_IP_ENV: "status.podIP"}
#: Set on @parallel nodes 1..N-1: node 0's pod IP, where they meet (``current.parallel.main_ip``).
MAIN_IP_ENV = "FLOWASSETS_PARALLEL_MAIN_IP"


def in_step_pod() -> bool:
    """True inside a pod flowassets made for a step (these downward-API variables are set)."""
    return bool(os.environ.get(POD_NAME_ENV) and os.environ.get(POD_NAMESPACE_ENV))
_ENV_FALLBACKS = {"namespace": ENV_NAMESPACE, "service_account": ENV_SERVICE_ACCOUNT, "image": ENV_IMAGE}


@dataclass(frozen=True)
class Tmpfs:
    size_mib: int
    path: str
    tempdir: bool  # point TMPDIR at it


@dataclass(frozen=True)
class KubernetesStep:
    """One step's pod request with every default, merge and fallback applied."""

    flow: str
    step: str
    resources: Resources
    qos: str = "Burstable"
    gpu_vendor: str = "nvidia"
    image: str | None = None
    image_pull_policy: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    namespace: str | None = None
    service_account: str | None = None
    node_selector: Mapping[str, str] | None = None
    tolerations: tuple[Mapping[str, Any], ...] = ()
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    persistent_volume_claims: Mapping[str, str] | None = None
    tmpfs: Tmpfs | None = None
    port: int | None = None
    security_context: Mapping[str, Any] | None = None
    deadline_s: int = DEFAULT_TIMEOUT_S


def kubernetes_args(node: model.StepNode) -> Mapping[str, Any] | None:
    """The step's effective @kubernetes arguments, or None when the step runs locally.

    ``--with kubernetes`` is one of the step's decorators already (``graph.build`` added it to
    every step without its own, as Metaflow does)."""
    spec = node.decorator("kubernetes")
    return None if spec is None else dict(spec.args)


def runs_on_kubernetes(node: model.StepNode) -> bool:
    return kubernetes_args(node) is not None


def k8s_config_for_step(graph: model.FlowGraph, node: model.StepNode,
                        env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The ``dagster-k8s/config`` tag value for a step, or None for a local step.

    Raises ``DecoratorError`` naming flow, step and parameter when a ``FLOWASSETS_KUBERNETES_*``
    variable is invalid (the decorator values, ``--with kubernetes`` ones included, were
    already checked by ``build_graph``)."""
    args = kubernetes_args(node)
    if args is None:
        return None
    env = os.environ if env is None else env
    problems = _env_problems(graph.flow_name, node.name, env)
    if problems:
        raise DecoratorError(problems)
    return tag_value(user_defined_config(kubernetes_step(graph, node, args, env)))


def kubernetes_step(graph: model.FlowGraph, node: model.StepNode, args: Mapping[str, Any],
                    env: Mapping[str, str]) -> KubernetesStep:
    """Resolve defaults (Metaflow's), the @resources merge and the environment fallbacks."""
    a = {**KUBERNETES_DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
    for key, var in _ENV_FALLBACKS.items():
        if not a.get(key) and env.get(var):
            a[key] = env[var]
    specs = [s for s in node.decorators if s.name == "resources"] + [DecoratorSpec("kubernetes", args)]
    resources = merged_resources(specs)
    node_selector = a["node_selector"]
    if isinstance(node_selector, str):
        node_selector = parse_key_values(node_selector)
    if a["compute_pool"]:
        node_selector = {**(node_selector or {}), COMPUTE_POOL_LABEL: a["compute_pool"]}
    tmpfs = None
    if a["use_tmpfs"] or a["tmpfs_size"]:
        size = int(float(a["tmpfs_size"])) if a["tmpfs_size"] else resources.memory_mb // 2
        tmpfs = Tmpfs(size, a["tmpfs_path"], bool(a["tmpfs_tempdir"]))
    return KubernetesStep(
        flow=graph.flow_name, step=node.name, resources=resources,
        qos="Guaranteed" if str(a["qos"]).lower() == "guaranteed" else "Burstable",
        gpu_vendor=str(a["gpu_vendor"]).lower(), image=a["image"],
        image_pull_policy=a["image_pull_policy"], image_pull_secrets=_names(a["image_pull_secrets"]),
        secrets=tuple(dict.fromkeys(_names(a["secrets"]) + _names(env.get(ENV_SECRETS)))),
        namespace=a["namespace"], service_account=a["service_account"], node_selector=node_selector,
        tolerations=tuple(a["tolerations"] or ()), labels=a["labels"], annotations=a["annotations"],
        persistent_volume_claims=a["persistent_volume_claims"], tmpfs=tmpfs, port=a["port"],
        security_context=a["security_context"], deadline_s=deadline_seconds(graph, node),
    )


def user_defined_config(ks: KubernetesStep) -> Any:
    """The step as dagster-k8s's ``UserDefinedDagsterK8sConfig`` (snake_case, key-checked)."""
    from dagster_k8s.job import UserDefinedDagsterK8sConfig
    from dagster_k8s.utils import sanitize_k8s_label

    container: dict[str, Any] = {"resources": resource_requirements(ks)}
    pod: dict[str, Any] = {}
    env: list[dict[str, Any]] = [{"name": k, "value_from": {"field_ref": {"field_path": v}}}
                                 for k, v in POD_ENV.items()]
    volumes, mounts = _volumes(ks)
    if ks.image:
        container["image"] = ks.image
    if ks.image_pull_policy:
        container["image_pull_policy"] = ks.image_pull_policy
    if ks.secrets:
        container["env_from"] = [{"secret_ref": {"name": name}} for name in ks.secrets]
    if ks.tmpfs and ks.tmpfs.tempdir:
        env.append({"name": "TMPDIR", "value": ks.tmpfs.path})
    if ks.port:
        container["ports"] = [{"container_port": int(ks.port)}]
    if ks.security_context:
        container["security_context"] = dict(ks.security_context)
    container["env"] = env
    if mounts:
        container["volume_mounts"] = mounts
        pod["volumes"] = volumes
    if ks.image_pull_secrets:
        pod["image_pull_secrets"] = [{"name": name} for name in ks.image_pull_secrets]
    if ks.service_account:
        pod["service_account_name"] = ks.service_account
    if ks.node_selector:
        pod["node_selector"] = dict(ks.node_selector)
    if ks.tolerations:
        pod["tolerations"] = [dict(t) for t in ks.tolerations]
    labels = {**(ks.labels or {}), FLOW_LABEL: sanitize_k8s_label(ks.flow),
              STEP_LABEL: sanitize_k8s_label(ks.step)}
    meta: dict[str, Any] = {"labels": labels}
    if ks.annotations:
        meta["annotations"] = dict(ks.annotations)
    job_meta = {**meta, **({"namespace": ks.namespace} if ks.namespace else {})}
    return UserDefinedDagsterK8sConfig(
        container_config=container, pod_spec_config=pod, pod_template_spec_metadata=meta,
        job_metadata=job_meta, job_spec_config={"active_deadline_seconds": ks.deadline_s},
    )


def resource_requirements(ks: KubernetesStep) -> dict[str, dict[str, str]]:
    """requests and limits, both always set for cpu, memory and ephemeral-storage.

    Guaranteed: limits = requests. Burstable: limits = ``BURSTABLE_LIMIT_FACTOR`` x requests.
    Either way our limits replace a launcher's default ones in dagster-k8s's DEEP merge, so
    ``limits.memory`` from the launcher can never sit below ``requests.memory`` from the step."""
    r = ks.resources
    disk_mb = r.disk_mb or int(KUBERNETES_DEFAULTS["disk"])
    requests = {"cpu": cpu_quantity(r.cpu), "memory": mb_quantity(r.memory_mb),
                "ephemeral-storage": mb_quantity(disk_mb)}
    factor = 1 if ks.qos == "Guaranteed" else BURSTABLE_LIMIT_FACTOR
    limits = {"cpu": cpu_quantity(r.cpu * factor), "memory": mb_quantity(r.memory_mb * factor),
              "ephemeral-storage": mb_quantity(disk_mb * factor)}
    if r.gpu:
        # Extended resources cannot be overcommitted: Kubernetes needs requests == limits.
        requests[f"{ks.gpu_vendor}.com/gpu"] = limits[f"{ks.gpu_vendor}.com/gpu"] = str(r.gpu)
    return {"requests": requests, "limits": limits}


def cpu_quantity(cpu: float) -> str:
    """1 -> "1", 0.5 -> "500m" (Kubernetes allows at most millicore precision)."""
    if float(cpu).is_integer():
        return str(int(cpu))
    return f"{max(1, math.ceil(cpu * 1000))}m"


def mb_quantity(mb: float) -> str:
    """Metaflow's memory/disk unit: megabytes, written "NNNNM"."""
    return f"{int(math.ceil(mb))}M"


def deadline_seconds(graph: model.FlowGraph, node: model.StepNode) -> int:
    """The step pod's Job activeDeadlineSeconds: 5 days, or what @timeout (times @retry
    attempts, which run inside the one pod) allows.

    A step inside a foreach (or a @parallel step) gets a pod per task on a cluster; each task
    pod's own deadline is @timeout plus the grace (``runtime.pod_tasks.task_deadline_s``), as each
    attempt is a new pod. The step-level value stays the 5-day ceiling for those steps."""
    limit = timeout_seconds(node.decorators)
    if not limit or any(graph[p].kind == model.FOREACH for p in node.split_parents if p in graph.steps):
        return DEFAULT_TIMEOUT_S
    retry = node.decorator("retry")
    times = retry_times(node.decorators)
    delay_s = 60 * int(float(retry.resolved()["minutes_between_retries"])) if retry else 0
    return min(DEFAULT_TIMEOUT_S, limit * (times + 1) + delay_s * times + DEADLINE_GRACE_S)


def tag_value(config: Any) -> dict[str, Any]:
    """The op-tag form: only the keys the ``dagster-k8s/config`` tag schema accepts, non-empty."""
    keys = ("container_config", "pod_template_spec_metadata", "pod_spec_config", "job_config",
            "job_metadata", "job_spec_config")
    out = {key: dict(getattr(config, key)) for key in keys if getattr(config, key)}
    if config.merge_behavior.value != "DEEP":
        out["merge_behavior"] = config.merge_behavior.value
    return out


def step_namespace(k8s_config: Mapping[str, Any] | None) -> str | None:
    """The namespace a step asked for (@kubernetes(namespace=...) or the env fallback).

    dagster-k8s's step handler takes the namespace from the executor/launcher, not from op
    tags, so an executor that honours per-step namespaces reads it here."""
    return ((k8s_config or {}).get("job_metadata") or {}).get("namespace")


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(i.strip() for i in items if i and i.strip())


def _env_problems(flow: str, step: str, env: Mapping[str, str]) -> list[Problem]:
    problems = []
    checks = {**{var: key for key, var in _ENV_FALLBACKS.items()}, ENV_SECRETS: "secrets"}
    for var, key in checks.items():
        value = env.get(var)
        message = KUBERNETES_CHECKS[key](key, value) if value else None
        if message:
            problems.append(Problem("kubernetes-bad-environment", flow,
                                    f"environment variable {var}={value!r} (fallback for @kubernetes "
                                    f"{key}): {message}.", step, fix=f"fix or unset {var}."))
    return problems


def _volume_name(prefix: str, claim: str) -> str:
    """A DNS-1123 label for a claim (claim names may have dots and run to 253 characters)."""
    name = f"{prefix}-{claim}".replace(".", "-")
    if len(name) <= 63:
        return name
    return f"{name[:54].rstrip('-')}-{hashlib.sha256(claim.encode()).hexdigest()[:8]}"


def _volumes(ks: KubernetesStep) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if ks.tmpfs:
        volumes.append({"name": TMPFS_VOLUME,
                        "empty_dir": {"medium": "Memory", "size_limit": f"{ks.tmpfs.size_mib}Mi"}})
        mounts.append({"name": TMPFS_VOLUME, "mount_path": ks.tmpfs.path})
    if ks.resources.shared_memory_mb:
        volumes.append({"name": SHM_VOLUME, "empty_dir": {
            "medium": "Memory", "size_limit": f"{ks.resources.shared_memory_mb}Mi"}})
        mounts.append({"name": SHM_VOLUME, "mount_path": SHM_PATH})
    for claim, path in (ks.persistent_volume_claims or {}).items():
        name = _volume_name("pvc", claim)
        volumes.append({"name": name, "persistent_volume_claim": {"claim_name": claim}})
        mounts.append({"name": name, "mount_path": path})
    return volumes, mounts

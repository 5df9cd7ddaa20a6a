"""Value checks for @batch arguments: the limits an ECS task has, checked when the job is built.

@batch runs as an ECS task through dagster-aws's ``ecs_executor`` (``compute/batch.py`` is the
one place each @batch parameter becomes an ECS field). Whether a value fits ECS is known from
the value alone, so it is refused here, at the graph level, by ``graph.build``, naming flow,
step and parameter, instead of by ``run_task`` once the run has started. ``image`` and
``queue`` have no ``run_task`` override and are refused with what to do instead.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .values import Checker, number

CPU_UNITS_PER_VCPU = 1024
#: ECS task-level limits (any launch type): 0.125 .. 192 vCPU, memory up to 1 TiB per task.
MIN_CPU_UNITS, MAX_CPU_UNITS = 128, 196_608
MIN_MEMORY_MB, MAX_MEMORY_MB = 512, 1_048_576
IAM_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
SUPPORTED = "cpu, memory, gpu, iam_role"


def _cpu(name: str, value: Any) -> str | None:
    found = number(value)
    if found is None or found <= 0:
        return f"must be a positive number of vCPUs, got {value!r}"
    units = found * CPU_UNITS_PER_VCPU
    if not units.is_integer():
        return f"must be a whole number of ECS CPU units (1024 per vCPU), got {value!r} = {units} units"
    if not MIN_CPU_UNITS <= units <= MAX_CPU_UNITS:
        return (f"must be between {MIN_CPU_UNITS / CPU_UNITS_PER_VCPU} and "
                f"{MAX_CPU_UNITS // CPU_UNITS_PER_VCPU} vCPUs on ECS, got {value!r}")
    return None


def _memory(name: str, value: Any) -> str | None:
    found = number(value)
    if found is None or not found.is_integer() or found <= 0:
        return f"must be a whole number of MB, got {value!r}"
    if not MIN_MEMORY_MB <= found <= MAX_MEMORY_MB:
        return f"must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB on ECS, got {value!r}"
    return None


def _gpu(name: str, value: Any) -> str | None:
    found = number(value)
    if found is None or not found.is_integer() or found < 0:
        return f"must be a whole number of GPUs >= 0, got {value!r}"
    return None


def _iam_role(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not IAM_ROLE_ARN.match(value):
        return (f"must be an IAM role ARN (arn:aws:iam::123456789012:role/name), used as the ECS "
                f"task's taskRoleArn, got {value!r}")
    return None


def _refused(reason: str) -> Checker:
    def check(name: str, value: Any) -> str | None:
        return f"is not supported on ECS ({reason}); @batch supports {SUPPORTED}"

    return check


BATCH_CHECKS: Mapping[str, Checker] = {
    "cpu": _cpu,
    "memory": _memory,
    "gpu": _gpu,
    "iam_role": _iam_role,
    "image": _refused("an ECS task's image comes from its task definition, which dagster-aws's "
                      "ecs_executor takes from the run's task; set the image on the EcsRunLauncher "
                      "or the code location instead"),
    "queue": _refused("AWS Batch job queues have no ECS counterpart: steps run on the run's ECS "
                      "cluster, chosen by the EcsRunLauncher"),
}

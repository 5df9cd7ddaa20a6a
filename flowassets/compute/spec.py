"""What the compute mappings read from a step's decorators: merged resources, timeout, retries.

The values were checked when the graph was built (``graph/decorator_checks``); here they are
only combined the way Metaflow combines them, for ``compute/kubernetes.py`` (pod fields) and for
the runtime (a task's time limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..authoring.decorators import STEP_DEFAULTS, DecoratorSpec
from ..graph.decorator_checks.steps_and_flow import timeout_spec_seconds
from ..graph.decorator_checks.values import number


@dataclass(frozen=True)
class Resources:
    """The merged resource request of one step (the larger of @resources and @kubernetes)."""

    cpu: float = 1.0
    memory_mb: int = 4096
    disk_mb: int | None = None
    gpu: int | None = None
    shared_memory_mb: int | None = None


def timeout_seconds(specs: Iterable[DecoratorSpec]) -> int | None:
    """A step's @timeout in seconds, None without one (the runtime then sets no limit of its own
    and a Kubernetes Job keeps its default deadline)."""
    for spec in specs:
        if spec.name == "timeout":
            return timeout_spec_seconds(spec)
    return None


def retry_times(specs: Iterable[DecoratorSpec]) -> int:
    """How many times @retry re-runs a failed task (0 without @retry)."""
    for spec in specs:
        if spec.name == "retry":
            return int(float(spec.resolved()["times"]))
    return 0


def merged_resources(specs: Iterable[DecoratorSpec]) -> Resources:
    """The larger of each value across @resources and @kubernetes, as Metaflow merges them."""
    by_name = {s.name: s for s in specs}
    sources = [by_name[n].resolved() for n in ("resources", "kubernetes") if n in by_name]
    if not sources:
        sources = [dict(STEP_DEFAULTS["resources"])]

    def biggest(key: str) -> float | None:
        values = [number(s.get(key)) for s in sources if s.get(key) is not None]
        values = [v for v in values if v is not None]
        return max(values) if values else None

    cpu = biggest("cpu") or 1.0
    memory = biggest("memory") or 4096
    disk, gpu, shm = biggest("disk"), biggest("gpu"), biggest("shared_memory")
    return Resources(
        cpu=cpu, memory_mb=int(memory), disk_mb=int(disk) if disk else None,
        gpu=int(gpu) if gpu is not None else None, shared_memory_mb=int(shm) if shm else None,
    )

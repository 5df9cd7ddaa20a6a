"""``current``: what a running task knows about itself, as in Metaflow.

One module-level object whose fields the runtime sets before calling a step body. Outside a
running task every field is None and ``is_running_flow`` is False. ``current.run`` and
``current.task`` are the client's objects of this run and task (``flowassets.client``), imported
only when asked for, so importing ``current`` stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class ParallelInfo:
    main_ip: str
    num_nodes: int
    node_index: int
    control_task_id: str


def _no_client(pathspec: str, store: Any = None) -> Any:
    raise RuntimeError("flowassets.client is not wired in (import flowassets first)")


#: Opens a client object from its pathspec (``client.reopen.open_pathspec``); set by the package
#: root (flowassets/__init__.py), which sits above the client, so this floor does not import it.
OPEN_PATHSPEC: Callable[[str, Any], Any] = _no_client


class Current:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.flow_name: str | None = None
        self.run_id: str | None = None
        self.step_name: str | None = None
        self.task_id: str | None = None
        self.retry_count: int = 0
        self.origin_run_id: str | None = None
        self.parallel: ParallelInfo | None = None
        self.tags: frozenset[str] = frozenset()
        self.namespace: str | None = None
        self.is_running_flow = False
        self.pod: dict[str, Any] | None = None
        self.card: Any = None  # the step's cards when it has @card (flowassets.cards)
        self._store: Any = None  # the run's artifact store (the client reads it without Dagster)

    def _bind(self, **fields: Any) -> None:
        self._reset()
        for key, value in fields.items():
            setattr(self, key, value)
        self.is_running_flow = True

    @property
    def pathspec(self) -> str | None:
        if not self.is_running_flow:
            return None
        return f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}"

    @property
    def run(self) -> Any:
        """The running run as a ``flowassets.client.Run`` (None outside a task). Its steps that
        finished are readable; it pickles as its pathspec, so it can be kept as an artifact."""
        if not self.is_running_flow:
            return None
        return OPEN_PATHSPEC(f"{self.flow_name}/{self.run_id}", self._store)

    @property
    def task(self) -> Any:
        """This task as a ``flowassets.client.Task`` (None outside a task): its pathspec and
        parents now, its artifacts once it has finished."""
        if not self.is_running_flow:
            return None
        return OPEN_PATHSPEC(self.pathspec, self._store)

    @property
    def is_production(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"current(pathspec={self.pathspec!r}, retry_count={self.retry_count})"


current = Current()

"""The records passed between ops and kept for the client: small JSON, never artifact values.

A ``TaskRecord`` is one task's manifest: every artifact name visible after the task mapped to
the blob holding its value, plus where the task sits in the foreach nesting and where it goes
next. A ``StepResult`` is all tasks of one step in one run: the IO manager's output.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class ArtifactRef:
    sha: str
    encoding: str
    size: int
    type: str = ""


@dataclass(frozen=True)
class ForeachFrame:
    """One level of foreach (or @parallel) nesting: which split, which item of how many."""

    step: str
    var: str | None
    index: int
    num_splits: int
    value_sha: str | None = None
    value_encoding: str = "pickle"
    value_size: int = 0
    value_repr: str = ""


@dataclass(frozen=True)
class CardRef:
    """One @card the task rendered: where its HTML is kept in the store (``key``, relative to
    the store's root; a resumed task keeps its origin task's), and a short Markdown text of what
    it shows, for the Dagster UI."""

    type: str
    hash: str  # the card's uuid, Metaflow's card "hash"
    key: str
    id: str | None = None
    summary: str = ""
    location: str = ""  # a path on the machine that wrote it (local store), else the URL

    @property
    def filename(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TaskRecord:
    step: str
    task_id: str
    foreach_stack: tuple[ForeachFrame, ...] = ()
    artifacts: Mapping[str, ArtifactRef] = field(default_factory=dict)
    next_steps: tuple[str, ...] = ()
    children: tuple[ForeachFrame, ...] = ()  # frames this task's foreach/@parallel creates
    input_tasks: tuple[str, ...] = ()  # pathspecs (step/task_id) this task read from
    attempt: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    caught_exception: str | None = None
    #: Where the task ran on Kubernetes: pod, namespace, node, node_ip (None when local).
    pod: Mapping[str, str] | None = None
    #: The run this task actually ran in, when a resume reused it instead of running it again.
    cloned_from: str | None = None
    #: Which pass of a loop (a recursive switch) this task is, from 0; None outside loops.
    iteration: int | None = None
    #: The cards (@card) the task rendered, in decorator order.
    cards: tuple[CardRef, ...] = ()

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(f.index for f in self.foreach_stack)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["artifacts"] = {k: [v.sha, v.encoding, v.size, v.type] for k, v in self.artifacts.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TaskRecord":
        data = dict(data)
        data["foreach_stack"] = tuple(ForeachFrame(**f) for f in data.get("foreach_stack", ()))
        data["children"] = tuple(ForeachFrame(**f) for f in data.get("children", ()))
        data["artifacts"] = {k: ArtifactRef(*v) for k, v in data.get("artifacts", {}).items()}
        data["next_steps"] = tuple(data.get("next_steps", ()))
        data["input_tasks"] = tuple(data.get("input_tasks", ()))
        data["cards"] = tuple(CardRef(**c) for c in data.get("cards", ()))
        return cls(**data)


@dataclass(frozen=True)
class StepResult:
    """What one op hands to the next: the manifests of all tasks of one step."""

    flow: str
    run_id: str
    step: str
    tasks: tuple[TaskRecord, ...]

    def to_bytes(self) -> bytes:
        return json.dumps({
            "flow": self.flow, "run_id": self.run_id, "step": self.step,
            "tasks": [t.to_json() for t in self.tasks],
        }, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "StepResult":
        raw = json.loads(data)
        return cls(raw["flow"], raw["run_id"], raw["step"],
                   tuple(TaskRecord.from_json(t) for t in raw["tasks"]))

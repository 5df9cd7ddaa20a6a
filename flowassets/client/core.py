"""Metaflow's client shape over the Dagster instance and the artifact store.

    from flowassets.client import Flow
    run = Flow("MergeFlow").latest_successful_run
    run["end"].task["total"].data, run["end"].task.data.total

Runs and their status come from Dagster; task manifests and artifact values from the store
recorded on each run. A step that a re-execution did not re-run is read from the parent run.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Iterator

from ..errors import ArtifactNotFound, ClientError
from ..storage import select
from ..storage.artifacts import ArtifactStore
from ..storage.manifest import StepResult, TaskRecord
from .tags import RunTagging, has_tags

FLOW_TAG = "flowassets/flow"
DATASTORE_TAG = "flowassets/datastore"
PARENT_TAG = "dagster/parent_run_id"


class Flow:
    def __init__(self, name: str, instance: Any = None):
        from .instance import get_instance

        self.name = name
        self._instance = instance or get_instance()
        if not self._records(limit=1):
            raise ClientError(f"flow {name!r} has no runs in the Dagster instance "
                              f"({self._instance.root_directory}).")

    def _records(self, limit: int | None = None, **filters: Any) -> list[Any]:
        from dagster import RunsFilter

        return list(self._instance.get_runs(RunsFilter(tags={FLOW_TAG: self.name}, **filters),
                                            limit=limit))

    def runs(self, *tags: str) -> Iterator["Run"]:
        """Newest first, as Metaflow's client orders them; only runs with all ``tags``."""
        for dagster_run in self._records():
            run = Run(self, dagster_run)
            if not tags or has_tags(run.tags, tags):
                yield run

    def __iter__(self) -> Iterator["Run"]:
        return self.runs()

    def __getitem__(self, run_id: str) -> "Run":
        dagster_run = self._instance.get_run_by_id(run_id)
        if dagster_run is None or dagster_run.tags.get(FLOW_TAG) != self.name:
            raise KeyError(f"flow {self.name!r} has no run {run_id!r}")
        return Run(self, dagster_run)

    @property
    def latest_run(self) -> "Run | None":
        records = self._records(limit=1)
        return Run(self, records[0]) if records else None

    @property
    def latest_successful_run(self) -> "Run | None":
        from dagster import DagsterRunStatus

        records = self._records(limit=1, statuses=[DagsterRunStatus.SUCCESS])
        return Run(self, records[0]) if records else None

    def __repr__(self) -> str:
        return f"Flow('{self.name}')"


class Run(RunTagging):
    def __init__(self, flow: Flow, dagster_run: Any):
        self.flow = flow
        self._run = dagster_run
        self.id = dagster_run.run_id

    @property
    def pathspec(self) -> str:
        return f"{self.flow.name}/{self.id}"

    @property
    def status(self) -> str:
        return self._fresh().status.value

    def _fresh(self) -> Any:
        return self.flow._instance.get_run_by_id(self.id)

    @property
    def successful(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCESS", "FAILURE", "CANCELED")

    @cached_property
    def store(self) -> ArtifactStore:
        location = self._run.tags.get(DATASTORE_TAG) or self._fresh().tags.get(DATASTORE_TAG)
        backend = select.open_location(location) if location else select.open_backend()
        return ArtifactStore(backend, self.flow.name)

    def _lineage(self) -> list[str]:
        """This run, then the runs it re-executed (a step not re-run lives there)."""
        chain, current = [], self._run
        while current is not None and len(chain) < 50:
            chain.append(current.run_id)
            parent = current.parent_run_id or current.tags.get(PARENT_TAG)
            current = self.flow._instance.get_run_by_id(parent) if parent else None
        return chain

    def _step_result(self, step: str) -> StepResult | None:
        for run_id in self._lineage():
            if self.store.has_step(run_id, step):
                return self.store.load_step(run_id, step)
        return None

    def steps(self, *tags: str) -> Iterator["Step"]:
        """Every step that ran, latest first; none unless the run has all ``tags``."""
        if tags and not has_tags(self.tags, tags):
            return
        names: dict[str, None] = {}
        for run_id in self._lineage():
            for name in self.store.steps_of_run(run_id):
                names.setdefault(name)
        results = [r for r in (self._step_result(n) for n in names) if r is not None]
        results.sort(key=lambda r: min((t.started_at for t in r.tasks), default=0.0), reverse=True)
        for result in results:
            yield Step(self, result)

    def __iter__(self) -> Iterator["Step"]:
        return self.steps()

    def __getitem__(self, step: str) -> "Step":
        result = self._step_result(step)
        if result is None:
            raise KeyError(f"run {self.pathspec} has no step {step!r} (not run, or not finished)")
        return Step(self, result)

    def __contains__(self, step: str) -> bool:
        return self._step_result(step) is not None

    @property
    def end_task(self) -> "Task | None":
        return self["end"].task if "end" in self else None

    @property
    def data(self) -> "DataView | None":
        end = self.end_task
        return end.data if end else None

    def __repr__(self) -> str:
        return f"Run('{self.pathspec}')"


class Step:
    def __init__(self, run: Run, result: StepResult):
        self.run = run
        self._result = result
        self.id = result.step

    @property
    def pathspec(self) -> str:
        return f"{self.run.pathspec}/{self.id}"

    @property
    def tags(self) -> frozenset[str]:
        """The run's tags (Metaflow tags runs; steps and tasks carry their run's)."""
        return self.run.tags

    def tasks(self, *tags: str) -> Iterator["Task"]:
        if tags and not has_tags(self.tags, tags):
            return
        for record in self._result.tasks:
            yield Task(self, record)

    def __iter__(self) -> Iterator["Task"]:
        return self.tasks()

    @property
    def task(self) -> "Task":
        return Task(self, self._result.tasks[0])

    def __getitem__(self, task_id: str) -> "Task":
        for record in self._result.tasks:
            if record.task_id == str(task_id):
                return Task(self, record)
        raise KeyError(f"step {self.pathspec} has no task {task_id!r}")

    def __repr__(self) -> str:
        return f"Step('{self.pathspec}')"


class Task:
    def __init__(self, step: Step, record: TaskRecord):
        self.step = step
        self.record = record
        self.id = record.task_id

    @property
    def pathspec(self) -> str:
        return f"{self.step.pathspec}/{self.id}"

    @property
    def tags(self) -> frozenset[str]:
        return self.step.run.tags

    @property
    def successful(self) -> bool:
        return True  # only finished tasks are recorded

    @property
    def index(self) -> int | None:
        return self.record.foreach_stack[-1].index if self.record.foreach_stack else None

    @property
    def pod(self) -> dict[str, str] | None:
        """Where the task ran on Kubernetes (pod, namespace, node, node_ip), None when local;
        Metaflow keeps the same in its task metadata."""
        return dict(self.record.pod) if self.record.pod else None

    @property
    def exception(self) -> str | None:
        return self.record.caught_exception

    @property
    def artifacts(self) -> list[str]:
        return sorted(self.record.artifacts)

    def __getitem__(self, name: str) -> "DataArtifact":
        if name not in self.record.artifacts:
            raise ArtifactNotFound(f"task {self.pathspec} has no artifact {name!r}; it has "
                                   f"{self.artifacts}")
        return DataArtifact(self, name)

    def __contains__(self, name: str) -> bool:
        return name in self.record.artifacts

    @property
    def data(self) -> "DataView":
        return DataView(self)

    @property
    def origin_pathspec(self) -> str | None:
        """Where a task a resume cloned really ran (Metaflow's ``Task.origin_pathspec``)."""
        if not self.record.cloned_from:
            return None
        return f"{self.step.run.flow.name}/{self.record.cloned_from}/{self.step.id}/{self.id}"

    @property
    def stdout(self) -> str:
        """The output of the task's latest attempt, as Metaflow's ``logs`` shows it (a cloned
        task's: the run it ran in)."""
        store = self.step.run.store
        cloned_from = self.record.cloned_from
        for run_id in [cloned_from] if cloned_from else self.step.run._lineage():
            attempts = [(int(name.split(".")[1]), text)
                        for name, text in store.load_logs(run_id, self.step.id)
                        if name.startswith(f"{self.id}.") and name.split(".")[1].isdigit()]
            if attempts:
                return max(attempts, key=lambda a: a[0])[1].decode(errors="replace")
        return ""

    def __repr__(self) -> str:
        return f"Task('{self.pathspec}')"


class DataArtifact:
    def __init__(self, task: Task, name: str):
        self.task = task
        self.id = name
        self.ref = task.record.artifacts[name]

    @property
    def data(self) -> Any:
        return self.task.step.run.store.load(self.ref, self.id)

    @property
    def sha(self) -> str:
        return self.ref.sha

    @property
    def size(self) -> int:
        return self.ref.size

    def __repr__(self) -> str:
        return f"DataArtifact('{self.task.pathspec}/{self.id}')"


class DataView:
    """``task.data.name`` reads one artifact; ``dir()`` lists them."""

    def __init__(self, task: Task):
        self.__dict__["_task"] = task

    def __getattr__(self, name: str) -> Any:
        task = self.__dict__["_task"]
        if name not in task.record.artifacts:
            raise AttributeError(f"task {task.pathspec} has no artifact {name!r}")
        return task[name].data

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__["_task"].record.artifacts

    def __dir__(self) -> list[str]:
        return self.__dict__["_task"].artifacts

    def __repr__(self) -> str:
        return f"<data of {self.__dict__['_task'].pathspec}: {', '.join(self.__dir__())}>"

"""Metaflow's client shape over the Dagster instance and the artifact store.

    from flowassets.client import Flow
    run = Flow("MergeFlow").latest_successful_run
    run["end"].task["total"].data, run["end"].task.data.total

Runs and their status come from Dagster; task manifests and artifact values from the store
recorded on each run. A step that a re-execution did not re-run is read from the parent run.

Every object can also be opened from its pathspec alone (``client.reopen``), looking nothing
up until it is used: ``current.run`` / ``current.task`` in a running task, and a pickled client
object loaded again.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Iterator

from ..errors import ArtifactNotFound, ClientError
from ..storage import select
from ..storage.artifacts import ArtifactStore
from ..storage.manifest import StepResult, TaskRecord
from .data import DataArtifact, DataView
from .reopen import PicklesAsPathspec, reading_instance, task_running_here
from .tags import RunTagging, has_tags

FLOW_TAG = "flowassets/flow"
DATASTORE_TAG = "flowassets/datastore"
PARENT_TAG = "dagster/parent_run_id"
PARTITION_TAG = "dagster/partition"  # Dagster's tag on each partition's run


class Flow(PicklesAsPathspec):
    def __init__(self, name: str, instance: Any = None):
        from .instance import get_instance

        self.name = name
        self._instance = instance or get_instance()
        if not self._records(limit=1):
            raise ClientError(f"flow {name!r} has no runs in the Dagster instance "
                              f"({self._instance.root_directory}).")

    @classmethod
    def _unchecked(cls, name: str) -> "Flow":
        flow = cls.__new__(cls)
        flow.name = name
        return flow

    def __getattr__(self, name: str) -> Any:
        if name == "_instance":  # an unchecked flow opens the instance when first used
            self._instance = reading_instance()
            return self._instance
        raise AttributeError(name)

    @property
    def pathspec(self) -> str:
        return self.name

    @property
    def id(self) -> str:  # Metaflow's Flow.id is its name
        return self.name

    def _records(self, limit: int | None = None, partition: str | None = None,
                 **filters: Any) -> list[Any]:
        from dagster import RunsFilter

        tags = {FLOW_TAG: self.name}
        if partition is not None:
            tags[PARTITION_TAG] = str(partition)
        return list(self._instance.get_runs(RunsFilter(tags=tags, **filters), limit=limit))

    def runs(self, *tags: str, partition: str | None = None) -> Iterator["Run"]:
        """Newest first, as Metaflow's client orders them; only runs with all ``tags``, and of
        a partitioned flow, only those of ``partition`` (its key, e.g. "2026-01-05")."""
        for dagster_run in self._records(partition=partition):
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


class Run(PicklesAsPathspec, RunTagging):
    def __init__(self, flow: Flow, dagster_run: Any):
        self.flow = flow
        self._run = dagster_run
        self.id = dagster_run.run_id

    @classmethod
    def _unchecked(cls, flow: Flow, run_id: str, store: ArtifactStore | None = None) -> "Run":
        run = cls.__new__(cls)
        run.flow, run.id = flow, run_id
        if store is not None:
            run.store = store
        return run

    def __getattr__(self, name: str) -> Any:
        if name == "_run":  # an unchecked run looks its Dagster record up when first used
            found = self.flow._instance.get_run_by_id(self.id)
            if found is None or found.tags.get(FLOW_TAG) != self.flow.name:
                raise ClientError(f"run {self.pathspec} is not in the Dagster instance "
                                  f"({self.flow._instance.root_directory}); set DAGSTER_HOME to "
                                  "the instance that ran it.")
            self._run = found
            return found
        raise AttributeError(name)

    @property
    def parent(self) -> Flow:
        return self.flow

    @property
    def pathspec(self) -> str:
        return f"{self.flow.name}/{self.id}"

    @property
    def status(self) -> str:
        return self._fresh().status.value

    @property
    def partition(self) -> str | None:
        """The partition key the run computed (Dagster's ``dagster/partition`` tag), or None."""
        return self._run.tags.get(PARTITION_TAG)

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
        if "store" in self.__dict__ and "_run" not in self.__dict__:
            try:  # a running task's run: its own store is known, its Dagster record may not be
                self._run
            except ClientError:
                return [self.id]
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
        if result is not None:
            return Step(self, result)
        if self._is_running_step(step):
            return Step._unchecked(self, step)
        raise KeyError(f"run {self.pathspec} has no step {step!r} (not run yet)")

    def _is_running_step(self, step: str) -> bool:
        """The step has not finished but has begun: some of its tasks finished, or this very
        process runs one of them."""
        return (task_running_here(self, step) is not None
                or bool(self.store.finished_tasks(self.id, step)))

    def __contains__(self, step: str) -> bool:
        return self._step_result(step) is not None or self._is_running_step(step)

    @property
    def end_task(self) -> "Task | None":
        return self["end"].task if "end" in self else None

    @property
    def data(self) -> "DataView | None":
        end = self.end_task
        return end.data if end else None

    def __repr__(self) -> str:
        return f"Run('{self.pathspec}')"


class Step(PicklesAsPathspec):
    def __init__(self, run: Run, result: StepResult):
        self.run = run
        self._result = result
        self.id = result.step

    @classmethod
    def _unchecked(cls, run: Run, name: str) -> "Step":
        step = cls.__new__(cls)
        step.run, step.id = run, name
        return step

    def __getattr__(self, name: str) -> Any:
        if name == "_result":
            return self._finished_or_so_far()
        raise AttributeError(name)

    def _finished_or_so_far(self) -> StepResult:
        """The step's manifest once it finished (kept); before that, the tasks finished so far
        (read again each time, as more finish)."""
        found = self.run._step_result(self.id)
        if found is not None:
            self._result = found
            return found
        so_far = self.run.store.finished_tasks(self.run.id, self.id).values()
        ordered = sorted(so_far, key=lambda t: (t.indices, t.iteration or 0))  # loop passes in order
        return StepResult(self.run.flow.name, self.run.id, self.id, tuple(ordered))

    @property
    def parent(self) -> Run:
        return self.run

    @property
    def pathspec(self) -> str:
        return f"{self.run.pathspec}/{self.id}"

    @property
    def tags(self) -> frozenset[str]:
        """The run's tags (Metaflow tags runs; steps and tasks carry their run's)."""
        return self.run.tags

    def tasks(self, *tags: str) -> Iterator["Task"]:
        """The step's tasks; while it runs, those finished so far and the one asking (a task
        in progress is listed as in Metaflow, where it is registered when it starts)."""
        if tags and not has_tags(self.tags, tags):
            return
        records = self._result.tasks
        for record in records:
            yield Task(self, record)
        running = task_running_here(self.run, self.id)
        if running is not None and all(r.task_id != running for r in records):
            yield Task._unchecked(self, running)

    def __iter__(self) -> Iterator["Task"]:
        return self.tasks()

    @property
    def task(self) -> "Task":
        for task in self.tasks():
            return task
        raise ClientError(f"step {self.pathspec} has no finished task yet")

    def __getitem__(self, task_id: str) -> "Task":
        for task in self.tasks():
            if task.id == str(task_id):
                return task
        raise KeyError(f"step {self.pathspec} has no task {task_id!r}")

    def __repr__(self) -> str:
        return f"Step('{self.pathspec}')"


class Task(PicklesAsPathspec):
    def __init__(self, step: Step, record: TaskRecord):
        self.step = step
        self.record = record
        self.id = record.task_id

    @classmethod
    def _unchecked(cls, step: Step, task_id: str) -> "Task":
        task = cls.__new__(cls)
        task.step, task.id = step, task_id
        return task

    def __getattr__(self, name: str) -> Any:
        if name == "record":  # an unchecked task reads its record when it has finished
            for record in self.step._result.tasks:
                if record.task_id == self.id:
                    self.record = record
                    return record
            raise ClientError(f"task {self.pathspec} has not finished (or does not exist): a "
                              "task's artifacts are readable once it finishes.")
        raise AttributeError(name)

    @property
    def parent(self) -> Step:
        return self.step

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
    def iteration(self) -> int | None:
        """Which pass of a loop (a recursive switch) the task is, from 0 (None outside loops):
        the last entry of Metaflow's ``_iteration_stack``."""
        return self.record.iteration

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
        self.record  # noqa: B018 - an unfinished task says so here, not at the first name read
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
        return self.output()

    @property
    def stderr(self) -> str:
        """What the task's latest attempt wrote to stderr (Metaflow's ``Task.stderr``)."""
        return self.output(stream="stderr")

    def output(self, attempt: int | None = None, stream: str = "stdout") -> str:
        """What one attempt (the latest by default) wrote to ``stream`` ("stdout" or
        "stderr"); "" when that attempt left none."""
        store = self.step.run.store
        cloned_from = self.record.cloned_from
        for run_id in [cloned_from] if cloned_from else self.step.run._lineage():
            attempts = [(number, text) for task_id, number, text
                        in store.load_logs(run_id, self.step.id, stream) if task_id == self.id]
            if attempt is not None:
                attempts = [a for a in attempts if a[0] == attempt]
            if attempts:
                return max(attempts, key=lambda a: a[0])[1].decode(errors="replace")
        return ""

    def __repr__(self) -> str:
        return f"Task('{self.pathspec}')"

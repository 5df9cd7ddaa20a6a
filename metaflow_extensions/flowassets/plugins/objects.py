"""The dicts Metaflow's client reads (metadata_provider/metadata.py shapes), built from
flowassets' client objects over the Dagster instance and the artifact store.

Metaflow asks for ``(obj_type, sub_type, *path)``: one object ("self"), the children of an
object (runs of a flow, steps of a run, ...), a task's artifacts or its metadata. Each answer is
a plain dict with ``ts_epoch`` (milliseconds), ``tags`` / ``system_tags`` (the run's) and the ids
of every level above it. flowassets keeps a task's record only once it has finished (or the one
this very process runs), so every listed task succeeded: ``_success`` and ``_task_ok`` are
given as True, ``_foreach_stack`` from the record, as Metaflow's runtime stores them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from . import synthetic

LEVELS = ("root", "flow", "run", "step", "task", "artifact")
DS_TYPE = "flowassets"


def _ms(seconds: float | None) -> int:
    return int(round((seconds if seconds else time.time()) * 1000))


@dataclass(frozen=True)
class RunFacts:
    """What every object under one run repeats: its tags, user, creation time and store."""

    flow: str
    run_id: str
    user: str | None
    tags: tuple[str, ...]
    system_tags: tuple[str, ...]
    created_ms: int
    ds_root: str

    def common(self) -> dict[str, Any]:
        return {"flow_id": self.flow, "run_number": self.run_id, "user_name": self.user,
                "tags": list(self.tags), "system_tags": list(self.system_tags)}


class Objects:
    """One question's worth of lookups over one Dagster instance (facts cached per run)."""

    def __init__(self, instance: Any):
        self.instance = instance
        self._facts: dict[str, RunFacts] = {}

    # -- finding flowassets client objects ----------------------------------------------------
    def locate(self, path: tuple[str, ...]) -> Any:
        """The client object at FLOW[/RUN[/STEP[/TASK]]] (None for the root), or None."""
        from flowassets.client import Flow
        from flowassets.errors import ClientError

        if not path:
            return _ROOT
        try:
            found: Any = Flow(path[0], self.instance)
            for part in path[1:]:
                found = found[part]
        except (ClientError, KeyError):
            return None
        return found

    def children(self, obj: Any, level: str) -> list[Any]:
        """The objects one level below ``obj`` (which sits at ``level``)."""
        from flowassets.client import Flow
        from flowassets.client.listing import flow_names

        if level == "root":
            return [Flow._unchecked(name) for name in flow_names(self.instance)]
        if level == "flow":
            obj._instance = self.instance
            return list(obj.runs())
        if level == "run":
            return list(obj.steps())
        if level == "step":
            return list(obj.tasks())
        if level == "task":
            return self.artifacts(obj, None)
        raise ValueError(level)

    def below(self, obj: Any, level: str, wanted: str) -> list[Any]:
        found, at = [obj], level
        while at != wanted:
            found = [child for o in found for child in self.children(o, at)]
            at = LEVELS[LEVELS.index(at) + 1]
        return found

    # -- the dicts ------------------------------------------------------------------------------
    def as_dict(self, obj: Any, level: str) -> dict[str, Any]:
        if level == "flow":
            from flowassets.client.listing import first_run_time

            return {"flow_id": obj.name, "ts_epoch": _ms(first_run_time(self.instance, obj.name))}
        if level == "run":
            facts = self.facts(obj)
            return {**facts.common(), "run_id": facts.run_id, "ts_epoch": facts.created_ms}
        if level == "step":
            facts = self.facts(obj.run)
            started = [t.started_at for t in _records(obj)]
            return {**facts.common(), "step_name": obj.id,
                    "ts_epoch": _ms(min(started)) if started else _ms(None)}
        if level == "task":
            facts = self.facts(obj.step.run)
            record = _record(obj)
            return {**facts.common(), "step_name": obj.step.id, "task_id": obj.id,
                    "ts_epoch": _ms(record.started_at if record else None)}
        if level == "artifact":
            return obj  # artifacts are dicts already
        raise ValueError(level)

    def facts(self, run: Any) -> RunFacts:
        if run.id not in self._facts:
            from flowassets.client.listing import run_created_at
            from flowassets.storage import run_tags, select

            # the Dagster record the client object just loaded: one query less per tag set,
            # which counts when Metaflow lists every run of a flow (namespace checks do)
            tags = run._run.tags
            created = run_created_at(run)
            self._facts[run.id] = RunFacts(
                flow=run.flow.name, run_id=run.id, user=tags.get(run_tags.USER_NAME_TAG),
                tags=tuple(sorted(run_tags.user_tags(tags))),
                system_tags=tuple(sorted(run_tags.system_tags(tags, created))),
                created_ms=_ms(created), ds_root=select.location_of(run.store.backend))
        return self._facts[run.id]

    def artifacts(self, task: Any, attempt: int | None) -> list[dict[str, Any]]:
        """The task's artifacts as Metaflow's artifact dicts; none for another attempt than
        the one flowassets kept (the last), or while the task runs."""
        record = _record(task)
        if record is None or (attempt is not None and attempt != record.attempt):
            return []
        facts = self.facts(task.step.run)
        base = {**facts.common(), "step_name": task.step.id, "task_id": task.id,
                "attempt_id": record.attempt, "type": "metaflow.artifact", "ds_type": DS_TYPE,
                "location": ":root:" + facts.ds_root, "ts_epoch": _ms(record.finished_at)}
        found = {name: {**base, "name": name, "sha": ref.sha,
                        "content_type": _encoding(ref.encoding)}
                 for name, ref in record.artifacts.items()}
        for name, value in _derived(record).items():
            if name not in found or name in ("_success", "_task_ok"):
                found[name] = {**base, "name": name, "sha": synthetic.keep(value),
                               "content_type": "pickle-v4"}
        return list(found.values())

    def metadata(self, task: Any) -> list[dict[str, Any]]:
        """Metaflow's task metadata that flowassets knows: the attempt, where the data and logs
        live (ds-type, ds-root), the origin of a resumed task, where a pod ran."""
        record = _record(task)
        facts = self.facts(task.step.run)
        if record is None:
            return []
        attempt_tag = [f"attempt_id:{record.attempt}"]
        fields: list[tuple[str, str, float]] = [
            ("attempt", str(record.attempt), record.started_at),
            ("ds-type", DS_TYPE, record.started_at),
            ("ds-root", facts.ds_root, record.started_at),
            ("runtime", "flowassets", record.started_at),
            ("attempt_ok", "True", record.finished_at),
            ("attempt-done", str(record.attempt), record.finished_at),
        ]
        if facts.user:
            fields.append(("user", facts.user, record.started_at))
        # as Metaflow's resume: every task of a resumed run names the run it resumed, a task
        # reused from there (not run again) also its own id there
        reused = record.cloned_from or _ran_in(task)
        origin = _resumed_from(task.step.run) or reused
        if origin:
            fields.append(("origin-run-id", origin, record.started_at))
        if reused:
            fields.append(("origin-task-id", task.id, record.started_at))
        if _is_control_task(record):  # read by Metaflow's Step.control_tasks()
            fields.append(("internal_task_type", CONTROL_TASK_TYPE, record.started_at))
        for key, name in (("pod", "kubernetes-pod-name"), ("namespace", "kubernetes-pod-namespace"),
                          ("node_ip", "kubernetes-node-ip")):
            if record.pod and record.pod.get(key):
                fields.append((name, record.pod[key], record.started_at))
        return [{"flow_id": facts.flow, "run_number": facts.run_id, "step_name": task.step.id,
                 "task_id": task.id, "field_name": name, "value": value, "type": name,
                 "tags": attempt_tag, "user_name": facts.user, "ts_epoch": _ms(at)}
                for name, value, at in fields]


class _Root:
    pass


_ROOT = _Root()


def _record(task: Any) -> Any:
    """The task's record, None while it runs (flowassets records a task when it finishes)."""
    from flowassets.errors import ClientError

    try:
        return task.record
    except ClientError:
        return None


#: Metaflow's @parallel marks node 0 of a gang, its control task, with this task metadata
#: (unbounded_foreach.CONTROL_TASK_TAG, written by parallel_decorator.task_pre_step).
CONTROL_TASK_TYPE = "control_task"


def _is_control_task(record: Any) -> bool:
    """Node 0 of a ``self.next(..., num_parallel=N)`` gang: its last frame has no foreach
    variable (a num_parallel split) and index 0."""
    frames = record.foreach_stack
    return bool(frames) and frames[-1].var is None and frames[-1].index == 0


def _ran_in(task: Any) -> str | None:
    """The earlier run a resumed run reads this task's step from (it did not re-run it), as
    Metaflow's resume records a cloned task's origin; None when it ran in its own run."""
    ran_in = getattr(task.step._result, "run_id", None)
    return ran_in if ran_in and ran_in != task.step.run.id else None


def _resumed_from(run: Any) -> str | None:
    from flowassets.client.core import PARENT_TAG

    return run._run.parent_run_id or run._run.tags.get(PARENT_TAG)


def _records(step: Any) -> list[Any]:
    return [r for r in (_record(t) for t in step.tasks()) if r is not None]


def _encoding(encoding: str) -> str:
    """Metaflow's label for a blob's encoding: its pickle serializer reads flowassets' pickles
    (protocol 5 loads like 4); anything else goes to FlowassetsColumnarSerializer."""
    return "pickle-v4" if encoding == "pickle" else "flowassets+" + encoding


def _derived(record: Any) -> dict[str, Any]:
    """The artifacts Metaflow's runtime adds to every task, from flowassets' record."""
    from metaflow.tuple_util import ForeachFrame

    stack = [ForeachFrame(step=f.step, var=f.var, num_splits=f.num_splits, index=f.index,
                          value=f.value_repr or None)
             for f in record.foreach_stack]
    return {"_success": True, "_task_ok": True, "_foreach_stack": stack}

"""What an op's output tells the Dagster UI about its step: tasks, artifacts written, foreach items.

The translator's ``get_output_metadata`` hook calls ``step_output_metadata``; a subclass can add
entries (``{**super().get_output_metadata(...), "owner": "ml"}``) without rebuilding these.

"Written" means new or changed in the task: an artifact a task passed on unchanged from its
input (same content hash) is not listed again, so a long flow's later steps do not repeat every
upstream artifact. Values are never read here: names, types, sizes and hashes come from the
task manifests the op already holds.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import dagster as dg

from ..runtime.execute import clone_summary
from ..storage.manifest import ArtifactRef, StepResult, TaskRecord

_ARTIFACT_COLUMNS = [
    dg.TableColumn("task", "string", description="task id within the step"),
    dg.TableColumn("artifact", "string"),
    dg.TableColumn("type", "string", description="Python type of the value"),
    dg.TableColumn("size_bytes", "int", description="serialized size"),
    dg.TableColumn("sha256", "string", description="content hash (first 12 hex digits)"),
]
_FOREACH_COLUMNS = [
    dg.TableColumn("task", "string"),
    dg.TableColumn("split", "string", description="foreach step and variable"),
    dg.TableColumn("index", "int"),
    dg.TableColumn("of", "int", description="number of splits"),
    dg.TableColumn("input", "string", description="self.input (repr, shortened)"),
]

_LOOP_COLUMNS = [
    dg.TableColumn("task", "string", description="task id: STEP.PASS (foreach indices before the dot)"),
    dg.TableColumn("foreach index", "string", description="the chain's foreach indices, if any"),
    dg.TableColumn("pass", "int", description="iteration of the loop, from 0"),
    dg.TableColumn("next", "string", description="the case the switch took"),
    dg.TableColumn("cloned", "bool", description="reused from the resumed run"),
]

_POD_COLUMNS = [
    dg.TableColumn("task", "string"),
    dg.TableColumn("pod", "string", description="Kubernetes pod the task ran in"),
    dg.TableColumn("namespace", "string"),
    dg.TableColumn("node", "string"),
]


def written_artifacts(task: TaskRecord, inputs: Iterable[TaskRecord]) -> dict[str, ArtifactRef]:
    """The artifacts ``task`` created or changed: not present with the same hash in any input."""
    seen: dict[str, set[str]] = {}
    for record in inputs:
        for name, ref in record.artifacts.items():
            seen.setdefault(name, set()).add(ref.sha)
    return {name: ref for name, ref in task.artifacts.items() if ref.sha not in seen.get(name, ())}


def step_output_metadata(result: StepResult, upstream: Iterable[StepResult] = (),
                         max_tasks: int = 20) -> dict[str, Any]:
    """Metadata for the Dagster STEP_OUTPUT event of one step (all its tasks)."""
    tasks = result.tasks
    meta: dict[str, Any] = {"tasks": len(tasks)}
    if not tasks:
        return meta
    by_path = {f"{r.step}/{t.task_id}": t for r in (*upstream, result) for t in r.tasks}
    shown = tasks[:max_tasks]
    more = f" ... ({len(tasks) - max_tasks} more)" if len(tasks) > max_tasks else ""
    meta["task_ids"] = ", ".join(t.task_id for t in shown) + more
    rows, total_bytes, total_count = [], 0, 0
    for position, task in enumerate(tasks):
        if task.cloned_from:
            continue  # written by the run it ran in, not by this one
        inputs = [by_path[p] for p in task.input_tasks if p in by_path]
        written = written_artifacts(task, inputs)
        total_count += len(written)
        total_bytes += sum(ref.size for ref in written.values())
        if position < max_tasks:
            rows += [dg.TableRecord({"task": task.task_id, "artifact": name, "type": ref.type,
                                     "size_bytes": ref.size, "sha256": ref.sha[:12]})
                     for name, ref in sorted(written.items())]
    if rows:
        meta["artifacts written"] = dg.MetadataValue.table(
            rows, schema=dg.TableSchema(columns=_ARTIFACT_COLUMNS))
    meta["artifacts written (count)"] = total_count
    meta["artifact bytes written"] = total_bytes
    if tasks[0].foreach_stack:
        meta["foreach"] = dg.MetadataValue.table(
            [_foreach_row(t) for t in shown], schema=dg.TableSchema(columns=_FOREACH_COLUMNS))
    if any(t.iteration is not None for t in tasks):
        meta.update(loop_metadata(tasks, max_tasks))
    caught = [t for t in tasks if t.caught_exception]
    if caught:
        meta["caught exceptions"] = "; ".join(f"{t.task_id}: {t.caught_exception}" for t in caught)
    placed = [t for t in shown if t.pod]
    if placed:
        meta["pods"] = dg.MetadataValue.table(
            [dg.TableRecord({"task": t.task_id, "pod": t.pod.get("pod", ""),
                             "namespace": t.pod.get("namespace", ""), "node": t.pod.get("node", "")})
             for t in placed], schema=dg.TableSchema(columns=_POD_COLUMNS))
    cloned = [t for t in tasks if t.cloned_from]
    if cloned:
        meta["cloned tasks"] = clone_summary(cloned, len(tasks))
    meta.update(card_metadata(shown))
    retried = [t for t in tasks if t.attempt]
    if retried:
        meta["retried tasks"] = ", ".join(f"{t.task_id} (attempt {t.attempt + 1})" for t in retried)
    ran = [t for t in tasks if not t.cloned_from]  # a cloned task's times are its origin run's
    meta["duration (s)"] = round(max(t.finished_at for t in ran) - min(t.started_at for t in ran), 3) if ran else 0.0
    return meta


def loop_metadata(tasks: tuple[TaskRecord, ...], max_rows: int = 20) -> dict[str, Any]:
    """A loop step's passes (a recursive switch): how many each chain made (one chain, or one
    per foreach item) and, per pass, its task and the case it took; the first and last
    ``max_rows // 2`` passes of a long loop (where it began and how it ended)."""
    chains: dict[tuple[int, ...], int] = {}
    for task in tasks:
        chains[task.indices] = chains.get(task.indices, 0) + 1
    shown = list(tasks) if len(tasks) <= max_rows else [*tasks[:max_rows // 2], *tasks[-(max_rows // 2):]]
    rows = [dg.TableRecord({"task": t.task_id, "foreach index": "-".join(map(str, t.indices)),
                            "pass": t.iteration or 0, "next": ", ".join(t.next_steps),
                            "cloned": bool(t.cloned_from)}) for t in shown]
    return {
        "loop passes": dg.MetadataValue.table(rows, schema=dg.TableSchema(columns=_LOOP_COLUMNS)),
        "loop passes per chain": max(chains.values()) if len(chains) == 1 else
        ", ".join(f"[{'-'.join(map(str, k))}]: {n}" for k, n in sorted(chains.items())),
    }


def card_metadata(tasks: Iterable[TaskRecord]) -> dict[str, Any]:
    """Each card of ``tasks`` (@card): a link to its HTML file and its text and tables as
    Markdown, so the UI shows the card's content inline and where to open it in full."""
    found = [(t, ref) for t in tasks for ref in t.cards]
    meta: dict[str, Any] = {}
    for task, ref in found:
        label = "card" if len(found) == 1 else f"card {task.task_id} {ref.id or ref.type}"
        if label in meta:
            label = f"{label} {ref.hash[:5]}"
        location = ref.location or ref.key
        meta[label] = (dg.MetadataValue.url(location) if "://" in location
                       else dg.MetadataValue.path(location))
        if ref.summary:
            meta[f"{label} (text)"] = dg.MetadataValue.md(ref.summary)
    return meta


def _foreach_row(task: TaskRecord) -> dg.TableRecord:
    frame = task.foreach_stack[-1]
    split = f"{frame.step}.{frame.var}" if frame.var else f"{frame.step} (@parallel)"
    return dg.TableRecord({"task": task.task_id, "split": split, "index": frame.index,
                           "of": frame.num_splits, "input": frame.value_repr})


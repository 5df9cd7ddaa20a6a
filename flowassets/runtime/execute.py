"""Run all tasks of one step with retries, @catch fallbacks and crash isolation.

Independent of Dagster: the op (``translate.ops``) calls ``execute_step`` and turns its result
or its ``StepFailure`` into Dagster outputs, logs and metadata.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..compute.spec import retry_times, timeout_seconds
from ..errors import StepFailure
from ..graph import model
from ..storage.manifest import StepResult, TaskRecord
from .loops import DEFAULT_MAX_LOOP_ITERATIONS, run_loop
from .plan import plan_tasks
from .pod_tasks import run_in_pods
from .pool import ChildOutcome, run_forked
from .progress import task_progress, tasks_cloned
from .task import CaughtException, RunContext, TaskSpec, run_and_keep

#: Called with a label ("step/task (attempt n)"), the task, and its stdout and stderr.
LogFn = Callable[[str, TaskSpec, bytes, bytes], None]


@dataclass(frozen=True)
class StepSettings:
    max_workers: int = 16  # forked processes here, or task pods of the run on Kubernetes
    hard_timeout_grace_s: float = 30.0
    #: Where the step's tasks run as pods (``compute.task_pods.PodTarget``); None: forked here.
    pods: Any = None
    #: A resumed run's origin: its tasks of this step that finished are reused, not run again.
    clone_from: str | None = None
    #: Passes a loop (recursive switch) may make per chain (``runtime.loops``).
    max_loop_iterations: int = DEFAULT_MAX_LOOP_ITERATIONS


def execute_step(ctx: RunContext, step: str, upstream: list[StepResult],
                 settings: StepSettings = StepSettings(), on_log: LogFn | None = None) -> StepResult:
    node = ctx.graph[step]
    specs = plan_tasks(ctx.graph, step, upstream)
    if node.is_loop:
        return run_loop(ctx, node, specs, settings, on_log)
    records = run_tasks(ctx, node, specs, settings, on_log)
    ordered = tuple(records[s.task_id] for s in specs)
    return StepResult(ctx.graph.flow_name, ctx.run_id, step, ordered)


def run_tasks(ctx: RunContext, node: model.StepNode, specs: list[TaskSpec],
              settings: StepSettings, on_log: LogFn | None = None, *,
              finished: dict[str, TaskRecord] | None = None,
              done_before: int = 0, report_clones: bool = True) -> dict[str, TaskRecord]:
    """Run ``specs`` (tasks of ``node``) with retries and @catch, reusing a resumed run's
    finished ones; their records by task id, or ``StepFailure`` naming every failed task.
    ``finished``: the origin run's finished tasks of the step, when the caller already read
    them (a loop asks once, not once per iteration); ``done_before``: tasks of the step that
    finished in earlier calls (the progress display counts them); ``report_clones``: tell the
    progress display about reused tasks here (a loop tells once for all its passes)."""
    step = node.name
    retry = node.decorator("retry")
    times = retry_times(node.decorators)
    delay_s = 60 * float(retry.resolved()["minutes_between_retries"]) if retry else 0.0
    limit = timeout_seconds(node.decorators)
    workers = settings.max_workers
    gang = _is_parallel(ctx.graph, node)
    if gang:
        workers = max(workers, len(specs))  # @parallel nodes must all be up to rendezvous
    records: dict[str, TaskRecord] = {}
    failures: list[str] = []
    todo = specs
    if settings.clone_from:
        records = clone_finished_tasks(ctx, specs, settings.clone_from, gang, finished)
        todo = [s for s in specs if s.task_id not in records]
        if records and report_clones:
            tasks_cloned(step, clone_summary(list(records.values()), len(specs)))
    attempt = 0
    total = done_before + len(specs)
    task_progress(step, done_before + len(records), total)
    while todo:
        todo = [dataclasses.replace(s, attempt=attempt, is_last_attempt=attempt >= times) for s in todo]
        again = []
        if settings.pods is not None:
            outcomes = run_in_pods(todo, ctx, settings.pods, workers)
        else:
            outcomes = run_forked(todo, lambda s: run_and_keep(s, ctx), workers,
                                  lambda s: (limit + settings.hard_timeout_grace_s) if limit else None)
        for outcome in outcomes:
            spec = outcome.item
            if on_log and (outcome.stdout or outcome.stderr):
                on_log(f"{step}/{spec.task_id} (attempt {spec.attempt})", spec, outcome.stdout,
                       outcome.stderr)
            if outcome.ok:
                records[spec.task_id] = outcome.value
            elif attempt < times:
                again.append(spec)
            elif outcome.crash and node.decorator("catch") is not None:
                records[spec.task_id] = _catch_fallback(ctx, spec, outcome)
                ctx.store.save_task(ctx.run_id, records[spec.task_id])
            else:
                failures.append(_describe(ctx, spec, outcome))
            task_progress(step, done_before + len(records) + len(failures), total, spec.task_id,
                          outcome.stdout, outcome.stderr, spec.attempt)
            if gang and (again or failures):
                break
            if failures and settings.pods is not None and not gang:
                # The step has failed: its other task pods would only spend the cluster's time.
                outcomes.close()
                failures.append(_stopped_note(len(specs) - len(records) - len(failures)))
                break
        if gang and (again or failures):
            again = _stop_gang(outcomes, todo, records, failures)
        if failures:
            break
        if again and delay_s:
            time.sleep(delay_s)
        attempt, todo = attempt + 1, again
    failures = [f for f in failures if f]
    if failures:
        shown = failures[:5]
        more = f"\n... and {len(failures) - 5} more failed task(s)" if len(failures) > 5 else ""
        raise StepFailure("\n\n".join(shown) + more)
    return records


def clone_finished_tasks(ctx: RunContext, specs: list[TaskSpec], origin: str, gang: bool,
                         finished: dict[str, TaskRecord] | None = None) -> dict[str, TaskRecord]:
    """The tasks of the origin run that finished with the same place in the foreach and the
    same inputs as ``specs`` (found by task id, which the place determines: ``task_ids``),
    reused as they are (their artifacts and logs are referenced, not
    copied), as Metaflow's resume clones them. Each is recorded in this run too, so resuming
    this run again finds it. @parallel nodes are reused only all together: a gang re-runs
    whole."""
    if not specs:
        return {}
    if finished is None:
        finished = ctx.store.finished_tasks(origin, specs[0].step)
    reused: dict[str, TaskRecord] = {}
    for spec in specs:
        record = finished.get(spec.task_id)
        if record is not None and _same_task(spec, record):
            reused[spec.task_id] = dataclasses.replace(record, cloned_from=record.cloned_from or origin)
    if gang and len(reused) != len(specs):
        return {}
    ctx.store.save_tasks(ctx.run_id, list(reused.values()))
    return reused


def clone_summary(cloned: list[TaskRecord], total: int, max_ids: int = 20) -> str:
    """"5 of 6 from run abc (0, 1, 2, 4, 5)": what a resume reused instead of running again."""
    origins = sorted({t.cloned_from or "" for t in cloned})
    ids = ", ".join(t.task_id for t in cloned[:max_ids]) + (" ..." if len(cloned) > max_ids else "")
    return f"{len(cloned)} of {total} from run {', '.join(origins)} ({ids})"


def _same_task(spec: TaskSpec, record: TaskRecord) -> bool:
    inputs = tuple(f"{r.step}/{r.task_id}" for r in spec.inputs)
    return (record.foreach_stack == spec.foreach_stack and record.input_tasks == inputs
            and record.iteration == spec.iteration)


def _stopped_note(stopped: int) -> str:
    return (f"The step's other {stopped} unfinished task(s) were not started or were stopped; "
            "their running pods were deleted." if stopped > 0 else "")


def _stop_gang(outcomes: Any, todo: list[TaskSpec], records: dict[str, TaskRecord],
               failures: list[str]) -> list[TaskSpec]:
    """One @parallel node failed: the others would wait for it forever in their rendezvous, so
    they are stopped now (their worker pods too), and a retry re-runs the whole gang, as
    Metaflow does. Returns the tasks to retry (none when the failure is final)."""
    outcomes.close()  # kills the nodes still running (their processes, or deletes their pods)
    for spec in todo:
        records.pop(spec.task_id, None)
    if failures:
        if len(todo) > 1:
            failures.append("The other @parallel nodes of the step were stopped.")
        return []
    return list(todo)


def _is_parallel(graph: model.FlowGraph, node: model.StepNode) -> bool:
    return graph.is_parallel_node(node)


def _catch_fallback(ctx: RunContext, spec: TaskSpec, outcome: ChildOutcome) -> TaskRecord:
    """The task's process died on its last attempt: record the failure as @catch would."""
    node = ctx.graph[spec.step]
    var = node.decorator("catch").resolved()["var"]
    base = dict(spec.inputs[0].artifacts) if spec.inputs and not node.is_join else {}
    caught = CaughtException("TaskCrashed", outcome.crash or "crashed", outcome.log.decode(errors="replace")[-4000:])
    if var:
        base[var] = ctx.store.save(caught)
    now = time.time()
    return TaskRecord(step=spec.step, task_id=spec.task_id, foreach_stack=spec.foreach_stack,
                      artifacts=base, next_steps=node.out, attempt=spec.attempt, started_at=now,
                      finished_at=now, caught_exception=str(caught), iteration=spec.iteration,
                      input_tasks=tuple(f"{r.step}/{r.task_id}" for r in spec.inputs))


def _describe(ctx: RunContext, spec: TaskSpec, outcome: ChildOutcome) -> str:
    task = f"flow {ctx.graph.flow_name}, step {spec.step!r}, task {spec.task_id}"
    if spec.foreach_stack:
        frame = spec.foreach_stack[-1]
        task += f" (foreach index {frame.index} of {frame.num_splits}, input {frame.value_repr})"
    if spec.attempt:
        task += f", attempt {spec.attempt + 1}"
    if outcome.crash:
        crash = outcome.crash.rstrip()
        tail = _crash_output(outcome.log.decode(errors="replace"))
        # A task pod's diagnosis may already quote the pod's last log lines (and a scheduler
        # message ends with its own period): no period glued to the quoted log, no log twice.
        quoted = set(crash.splitlines()[1:])
        log = ("\nlast output:\n" + "\n".join(tail)) if tail and not set(tail) <= quoted else ""
        end = "" if quoted or crash.endswith((".", "!", "?")) else "."
        return f"{task} crashed: {crash}{end}{log}"
    return f"{task} failed:\n{outcome.error}"


def _crash_output(log: str, keep: int = 20) -> list[str]:
    """The task log's last lines; for a native crash, faulthandler's dump (innermost frame
    first) kept whole but for flowassets' and installed packages' frames, so the user's line
    that crashed is in the message rather than cut off by the frames around it."""
    lines = log.strip().splitlines()
    fatal = [i for i, ln in enumerate(lines) if ln.startswith("Fatal Python error")]
    if not fatal:
        return lines[-keep:]
    before, dump = lines[:fatal[-1]], lines[fatal[-1]:]
    noise = ("/flowassets/", "/site-packages/", "<frozen ")
    dump = [ln for ln in dump if not ln.startswith("Extension modules")
            and not any(n in ln.replace("\\", "/") for n in noise)]
    room = max(0, keep - len(dump))
    return (before[len(before) - room:] if room else []) + dump[:keep]

"""Loops: a recursive switch (Metaflow 2.19) run as passes inside the step's one op.

A Dagster job is acyclic, so a switch whose case names its own step cannot be an edge between
ops. The loop lives where foreach tasks already do, inside the op: each pass is a task of the
step with its own artifacts, its own run-unique id (``task_ids.iteration_task_id``: ``2.0``,
``2.1``, ... as Metaflow indexes ``step[...][0]``, ``step[...][1]``) and its own manifest in
the store, reading the previous pass's artifacts as a linear step reads its parent's. Only the
pass that takes another case leaves the op: the op's outputs are the loop's ways out.

A loop inside a foreach runs one chain of passes per foreach item; the chains advance together,
one pass each per round, so their passes run in parallel as foreach tasks do. A resume reuses
the origin run's finished passes (same id, same input pass) and restarts at the failed one.
``--max-loop-iterations`` bounds the passes of each chain, as ``--max-num-splits`` bounds a
foreach: a loop that would not end fails with ``LoopLimitError`` instead of running forever.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..errors import LoopLimitError
from ..graph import model
from ..storage.manifest import StepResult, TaskRecord
from .progress import tasks_cloned
from .task import RunContext, TaskSpec
from .task_ids import iteration_task_id, task_id_for

if TYPE_CHECKING:
    from .execute import LogFn, StepSettings

#: Passes a loop may make before it is taken for a runaway (``--max-loop-iterations``).
DEFAULT_MAX_LOOP_ITERATIONS = 1000


def run_loop(ctx: RunContext, node: model.StepNode, entry: list[TaskSpec],
             settings: "StepSettings", on_log: "LogFn | None" = None) -> StepResult:
    """Run every chain of passes of loop step ``node``, one pass per chain per round, from the
    tasks that enter it (``entry``, planned as for any step); all passes, in (foreach index,
    pass) order, as the step's result."""
    from .execute import clone_summary, run_tasks

    finished = (ctx.store.finished_tasks(settings.clone_from, node.name)
                if settings.clone_from else None)
    todo = [first_pass(ctx, node, spec) for spec in entry]
    done: list[TaskRecord] = []
    try:
        while todo:
            records = run_tasks(ctx, node, todo, settings, on_log, finished=finished,
                                done_before=len(done), report_clones=False)
            again = []
            for spec in todo:
                record = records[spec.task_id]
                done.append(record)
                if loops_again(node, record):
                    again.append(next_pass(ctx, node, spec, record, settings.max_loop_iterations))
            todo = again
    finally:
        cloned = [t for t in done if t.cloned_from]
        if cloned:
            tasks_cloned(node.name, clone_summary(cloned, len(done) + len(todo)))
    done.sort(key=lambda t: (t.indices, t.iteration or 0))
    return StepResult(ctx.graph.flow_name, ctx.run_id, node.name, tuple(done))


def first_pass(ctx: RunContext, node: model.StepNode, spec: TaskSpec) -> TaskSpec:
    """Pass 0 of the chain a task entering the loop starts."""
    base = task_id_for(ctx.graph, node.name, spec.foreach_stack)
    return dataclasses.replace(spec, task_id=iteration_task_id(base, 0), iteration=0)


def loops_again(node: model.StepNode, record: TaskRecord) -> bool:
    """Whether the pass chose the case that names the loop's own step."""
    return record.next_steps == (node.name,)


def next_pass(ctx: RunContext, node: model.StepNode, spec: TaskSpec, record: TaskRecord,
              limit: int) -> TaskSpec:
    """The pass after ``record`` (which chose to loop again), reading its artifacts; refused
    with ``LoopLimitError`` when it would be pass number ``limit + 1``."""
    iteration = (spec.iteration or 0) + 1
    if iteration >= limit:
        where = f"flow {ctx.graph.flow_name}, step {node.name!r}"
        if record.foreach_stack:
            frame = record.foreach_stack[-1]
            where += f" (foreach index {frame.index} of {frame.num_splits}, input {frame.value_repr})"
        raise LoopLimitError(
            f"{where}: the loop made {limit} passes (the last is task {record.task_id}) and its "
            f"switch on {node.condition_var!r} chose {node.name!r} again; "
            f"--max-loop-iterations={limit} stops a loop that does not end. Check that the "
            "condition eventually takes another case, or raise the limit (flowassets run "
            "--max-loop-iterations N, or FlowRuntimeResource(max_loop_iterations=N)). The passes "
            "made so far are kept: `flowassets resume` continues from the last one.")
    base = task_id_for(ctx.graph, node.name, record.foreach_stack)
    return TaskSpec(node.name, iteration_task_id(base, iteration), record.foreach_stack,
                    (record,), iteration=iteration)

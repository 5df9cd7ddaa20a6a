"""Which tasks a step runs, from the manifests of the steps before it. Pure functions.

A task of a plain step continues one upstream task (or fans out from a foreach task's
children); a join task gathers the upstream tasks that share the join's enclosing foreach
indices. Join groups are checked against the split's width, so a re-execution that lost a
foreach task fails the join instead of silently joining fewer inputs.
"""

from __future__ import annotations

from ..errors import StepFailure
from ..graph import model
from ..storage.manifest import StepResult, TaskRecord
from .task import TaskSpec
from .task_ids import task_id_for


def plan_tasks(graph: model.FlowGraph, step: str, upstream: list[StepResult]) -> list[TaskSpec]:
    node = graph[step]
    if step == "start":
        return [TaskSpec("start", task_id_for(graph, "start", ()), (), ())]
    incoming = [t for result in upstream for t in result.tasks if step in t.next_steps]
    if not node.is_join:
        specs = []
        for task in incoming:
            if task.children:
                for frame in task.children:
                    stack = task.foreach_stack + (frame,)
                    specs.append(TaskSpec(step, task_id_for(graph, step, stack), stack, (task,)))
            else:
                specs.append(TaskSpec(step, task_id_for(graph, step, task.foreach_stack), task.foreach_stack, (task,)))
        specs.sort(key=lambda s: tuple(f.index for f in s.foreach_stack))
        return specs
    return _join_tasks(graph, node, incoming)


def _join_tasks(graph: model.FlowGraph, node: model.StepNode,
                incoming: list[TaskRecord]) -> list[TaskSpec]:
    split = graph[node.closes]
    where = f"flow {graph.flow_name}, join step {node.name!r}"
    groups: dict[tuple, list[TaskRecord]] = {}
    if split.kind in (model.FOREACH, model.PARALLEL_SPLIT):
        # Only foreach/@parallel levels have frames: enclosing static splits do not count.
        depth = sum(1 for p in split.split_parents
                    if graph[p].kind in (model.FOREACH, model.PARALLEL_SPLIT))
        for task in incoming:
            groups.setdefault(tuple(f.index for f in task.foreach_stack[:depth]), []).append(task)
        specs = []
        for key in sorted(groups):
            members = sorted(groups[key], key=lambda t: t.foreach_stack[depth].index)
            expected = members[0].foreach_stack[depth].num_splits
            _check_count(where, split.name, key, len(members), expected)
            stack = members[0].foreach_stack[:depth]
            specs.append(TaskSpec(node.name, task_id_for(graph, node.name, stack), stack, tuple(members)))
        return specs
    branch_order = {name: i for i, name in enumerate(graph.order)}
    for task in incoming:
        groups.setdefault(tuple(f.index for f in task.foreach_stack), []).append(task)
    specs = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda t: branch_order[t.step])
        _check_count(where, split.name, key, len(members), len(split.out))
        stack = members[0].foreach_stack
        specs.append(TaskSpec(node.name, task_id_for(graph, node.name, stack), stack, tuple(members)))
    return specs


def _check_count(where: str, split: str, key: tuple, got: int, expected: int) -> None:
    if got != expected:
        at = f" at foreach index {list(key)}" if key else ""
        raise StepFailure(
            f"{where}: expected {expected} inputs from split {split!r}{at}, found {got}. An "
            "upstream task is missing (a skipped step in a re-execution?); re-run from the split."
        )

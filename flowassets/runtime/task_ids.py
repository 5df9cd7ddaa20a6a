"""Task ids: unique in the run, as Metaflow's are, and computed from the task's place alone.

Metaflow numbers tasks with one counter for the whole run (``1``, ``2``, ...), so two tasks of
one run never share an id, and ``merge_artifacts`` tells branches apart by ``current.task_id``.
flowassets cannot keep such a counter: each step's op plans its tasks itself, tasks run in
separate processes or pods, and a resume must find the origin run's task for each task again.
So an id is built from what places a task in the run and nothing else:

- the step's number: its position in the graph's topological order, from 1 (``start`` is 1);
- the task's foreach index path (one index per enclosing foreach or ``@parallel`` split, the
  ``@parallel`` node index last), joined with ``-``.

``start`` is ``1``; a task of the 3rd step is ``3``; item 2 of a foreach in the 4th step is
``4-2``; item 1 of item 2 of a nested foreach in the 6th step is ``6-2-1``. Two steps never share
a number and two tasks of one step never share an index path, so ids are unique in the run; the
same flow gives the same ids in every run, so a resume matches the origin run's tasks by id. The
id says where the task sits, stays short in pathspecs (``Flow/RUN/4-2``), log names and pod
names, and is a valid Kubernetes label value (letters, digits and ``-``). Metaflow's ids are not
always integers either (its ``@parallel`` tasks are ``control-...`` and ``..._node_N``).

A flow edited so that a step moves in the topological order numbers that step differently: a
resume of a run made before the edit runs that step's tasks again instead of cloning them.
"""

from __future__ import annotations

from ..graph import model
from ..storage.manifest import ForeachFrame


def step_number(graph: model.FlowGraph, step: str) -> int:
    return graph.order.index(step) + 1


def task_id_for(graph: model.FlowGraph, step: str, stack: tuple[ForeachFrame, ...]) -> str:
    """The id of the task of ``step`` at foreach index path ``stack`` (see the module doc)."""
    return "-".join([str(step_number(graph, step)), *(str(f.index) for f in stack)])


def control_task_id(graph: model.FlowGraph, step: str, stack: tuple[ForeachFrame, ...]) -> str:
    """The id of node 0 of the ``@parallel`` gang the task at ``stack`` belongs to (its last
    frame is the gang's): Metaflow's ``current.parallel.control_task_id``."""
    return task_id_for(graph, step, stack[:-1]) + "-0"


def iteration_task_id(task_id: str, iteration: int) -> str:
    """The id of pass ``iteration`` (from 0) of a loop (a recursive switch) whose task at this
    place would be ``task_id``: ``task_id.iteration``, so pass 3 of the loop in the 2nd step is
    ``2.3`` and of its foreach item 1 in the 4th step ``4-1.3``. Metaflow indexes the same task
    ``step[foreach indices][iteration]``; the id stays unique in the run, is the same in every
    run (a resume finds the failed pass's predecessors by it), and is a valid label value."""
    return f"{task_id}.{iteration}"

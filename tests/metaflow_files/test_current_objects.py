"""An unchanged Metaflow file using ``current.run`` / ``current.task`` and run-wide task ids
(issue 12, items 4 and 5), run by Metaflow 2.19, ``flowassets run`` and ``flow_to_job``: every
check the tasks made through the objects is the same as Metaflow's, and afterwards the objects
the tasks stored read back as upstream ``current_singleton.check_results`` reads them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.metaflow_compat.harness import _flowassets_env

from .harness import Case, run_three_ways

pytestmark = pytest.mark.xdist_group("metaflow_files")

# Reads the run back with flowassets' client, in a new process, as a user would.
READ_BACK = r'''
import json
from flowassets.client import Flow
run = Flow("CurrentObjectsFlow").latest_run
tasks = {}
for step in run:
    for task in step:
        data = task.data
        tasks[task.pathspec] = [data._task_obj.pathspec, data._run_obj.id == task.parent.parent.id,
                                data._run_obj[data._task_obj.parent.id].id]
print(json.dumps({"tasks": tasks, "run": [run.data._run_obj.pathspec, run.pathspec],
                  "flow": run.data._run_obj.parent.id}))
'''


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("current_objects")
    return tmp, run_three_ways([Case("current_objects.py", "CurrentObjectsFlow")], tmp)


def test_same_checks_as_metaflow(ran):
    _, runs = ran
    result = runs["CurrentObjectsFlow"]
    result.assert_same()
    assert result.metaflow.successful and result.cli.successful and result.job.successful
    # The compared values are the meaningful ones (all checks true, conflicts found).
    for system in (result.metaflow, result.cli, result.job):
        every = [t["seen"] for step in system.steps for t in system.artifacts(step)]
        assert len(every) == 10 and all(all(s.values()) for s in every), every
        join = system.artifacts("join")[0]
        assert join["ids_distinct"] and join["conflict"] == ["_mine", "_task_obj"]
        assert system.artifacts("fan_join")[0]["fan_ids_distinct"]
        assert system.artifacts("fan_join")[0]["fan_tasks"] and system.artifacts("fan_join")[0]["stored_tasks"]
        assert [t["x_via_stored_run"] for t in system.artifacts("fan")] == [41, 41, 41]


@pytest.mark.parametrize("system", ["cli", "job"])
def test_stored_objects_reopen_the_run_and_task(ran, system):
    tmp, _ = ran
    where = tmp / "CurrentObjectsFlow" / system
    read = subprocess.run([sys.executable, "-c", READ_BACK], cwd=where, capture_output=True,
                          text=True, env=_flowassets_env(where), timeout=120)
    assert read.returncode == 0, read.stderr[-3000:]
    back = json.loads(read.stdout.strip().splitlines()[-1])
    assert len(back["tasks"]) == 10
    for pathspec, (stored, same_run, step) in back["tasks"].items():
        assert stored == pathspec and same_run and step == pathspec.split("/")[2]
    assert back["run"][0] == back["run"][1] and back["flow"] == "CurrentObjectsFlow"
    # Run-wide ids: step number in the graph, then the foreach index.
    assert sorted(p.split("/", 2)[2] for p in back["tasks"]) == [
        "end/8", "fan/6-0", "fan/6-1", "fan/6-2", "fan_join/7", "join/4", "left/2", "right/3",
        "spread/5", "start/1"]

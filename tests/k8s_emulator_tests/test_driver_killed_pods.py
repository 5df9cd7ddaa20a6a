"""The driver of a run with task pods is killed: its pods are found by label, the finished
ones' results are reused by the resume and the running ones deleted; no pod keeps running for
a run no one will read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.k8s_emulator_tests.test_task_pods import cluster  # noqa: F401 - fixture by name
from tests.support.k8s_emulator.fixtures import wait_for
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - fixtures by name
from tests.support.servers import s3_store_server  # noqa: F401 - fixtures by name

FLOW_FILE = Path(__file__).with_name("flows") / "slow_pods_flow.py"
pytestmark = pytest.mark.xdist_group("k8s_emulator")
TASKS = "app.kubernetes.io/component=flowassets-task"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "FLOWASSETS_PROGRESS": "plain"})


@pytest.mark.parametrize("kill", ["driver", "session"])
def test_killed_driver_pods_are_deleted_or_reused_by_the_resume(cluster, kill):  # noqa: F811
    """``driver``: ``kill -9`` of the driver alone; its step process is told (SIGTERM) and deletes
    its pods itself. ``session``: everything on the machine goes (a closed terminal, a reboot):
    the resume finds the pods by label and deletes them."""
    emulator, ns, home = cluster.emulator, cluster.namespace, cluster.home
    run_id_file = home / "first_run_id"
    driver = subprocess.Popen(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW_FILE), "--hold", "true",
         "--run-id-file", str(run_id_file), "--quiet"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for("the run id", lambda: run_id_file.exists() and run_id_file.read_text(), 120)
    first = run_id_file.read_text()
    of_first = f"flowassets.io/run-id={first},{TASKS}"

    def succeeded() -> set[str]:
        return {p["labels"]["flowassets.io/task"] for p in emulator.pods(namespace=ns, label_selector=of_first)
                if p["phase"] == "Succeeded"}

    # Task i sleeps 2*i s: kill once tasks 0 and 1 are done while 2..5 still run in their pods.
    wait_for("two finished task pods", lambda: len(succeeded()) >= 2, 180)
    running_at_kill = {p["name"] for p in emulator.pods(namespace=ns, label_selector=of_first)
                       if p["phase"] == "Running"}
    if kill == "driver":
        os.kill(driver.pid, signal.SIGKILL)  # as `kill -9` or the OOM killer does
    else:
        os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    assert running_at_kill, "every task finished before the kill: the test proves nothing"

    resumed = _cli("resume", str(FLOW_FILE), "--run-id-file", str(home / "second_run_id"))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # The step process launching the pods got SIGTERM as its run worker died and deleted them
    # itself; whatever it left, the resume found by label and deleted.
    assert f"the process that drove run {first}" in resumed.stderr
    if kill == "session":
        assert "Deleted" in resumed.stderr and "task pod Job(s) it left running" in resumed.stderr
    second = (home / "second_run_id").read_text()

    first_pods = emulator.pods(namespace=ns, label_selector=of_first)
    finished = {p["labels"]["flowassets.io/task"] for p in first_pods if p["phase"] == "Succeeded"}
    assert finished == {"2-0", "2-1"}  # work is step 2
    # Every pod still running when the driver died was deleted, none is left running.
    assert not [p["name"] for p in first_pods if p["deletedAt"] is None and p["phase"] == "Running"]
    assert all(p["deletedAt"] is not None or p["phase"] == "Succeeded"
               for p in first_pods if p["name"] in running_at_kill)
    # The resume re-ran exactly the tasks whose pods had not finished, each as a new pod.
    rerun = {p["labels"]["flowassets.io/task"]
             for p in emulator.pods(namespace=ns, label_selector=f"flowassets.io/run-id={second},{TASKS}")}
    assert rerun == {f"2-{i}" for i in range(6)} - finished
    cloned = ", ".join(sorted(finished))
    assert f"clone work" in resumed.stdout and f"from run {first} ({cloned})" in resumed.stdout

    script = ("import json, sys; from flowassets.client import Flow; r = Flow('SlowPodsFlow')[sys.argv[1]]; "
              "print(json.dumps([r.successful, r.data.squares, {str(k): v for k, v in r.data.pods.items()}]))")
    out = subprocess.run([sys.executable, "-c", script, second], capture_output=True, text=True,
                         timeout=120, check=True)
    ok, squares, pods = json.loads(out.stdout)
    assert ok and squares == [i * i for i in range(6)]
    by_task = {p["labels"]["flowassets.io/task"]: p["name"] for p in emulator.pods(namespace=ns, label_selector=TASKS)
               if p["phase"] == "Succeeded" and p["labels"]["flowassets.io/run-id"] in (first, second)}
    # Cloned tasks keep the pod they ran in; the others name their new pod (item i is task 2-i).
    assert pods == {task.removeprefix("2-"): pod for task, pod in by_task.items()}
    status = _cli("logs", f"SlowPodsFlow/{first}/start")
    assert "is gone" not in status.stderr  # marked once, by the resume

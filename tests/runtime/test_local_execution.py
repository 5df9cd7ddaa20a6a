"""The default local executor: a crashing task fails its step with a message (never the run's
process), ``--max-num-splits`` refuses a wide foreach before any task starts, ``--max-workers``
caps how many tasks run at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from flowassets.client import Flow
from flowassets.runtime.resource import FlowRuntimeResource
from flowassets.translate.job import default_resources, flow_to_job
from tests.conftest import FLOWS, load_flow


def flowassets(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())


def _failure_text(result: dg.ExecuteInProcessResult, step: str) -> str:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key == step]
    assert failures, f"{step} did not fail"
    return failures[0].event_specific_data.error.message + (
        failures[0].event_specific_data.user_failure_data.description or ""
        if failures[0].event_specific_data.user_failure_data else "")


def test_a_segfaulting_foreach_task_fails_its_step_not_this_process(isolated_store):
    job = flow_to_job(load_flow("crash_flow.py"))
    result = job.execute_in_process(raise_on_error=False, instance=dg.DagsterInstance.get(),
                                    run_config={"ops": {"start": {"config": {"how": "segfault"}}}})
    assert not result.success  # and we are still here: the segfault was in a child process
    text = _failure_text(result, "body")
    assert "CrashFlow" in text and "SIGSEGV" in text
    assert "crash_flow.py\", line 21 in body" in text  # where it crashed, from the task log
    statuses = {e.step_key: e.event_type_value for e in result.all_events
                if e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE")}
    assert statuses == {"start": "STEP_SUCCESS", "body": "STEP_FAILURE"}


def test_os_exit_in_a_step_fails_that_step_and_the_cli_reports_it(tmp_path):
    done = flowassets("run", str(FLOWS / "crash_flow.py"), "--how", "exit", cwd=tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "after" in output and "exited with code 7" in output
    assert "Traceback" not in done.stderr
    run = Flow("CrashFlow").latest_run
    assert not run.successful
    assert run["join"].task.data.values == [0, 10, 20, 30]  # the steps before it kept their artifacts


def test_a_foreach_wider_than_max_num_splits_starts_no_task(tmp_path):
    marker = tmp_path / "started.txt"
    done = flowassets("run", str(FLOWS / "wide_flow.py"), "--width", "12", "--marker", str(marker),
                      "--max-num-splits", "10", cwd=tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "WideFlow" in output and "start" in output and "12" in output and "max-num-splits" in output
    assert not marker.exists()


def test_the_default_max_num_splits_is_metaflows_100(isolated_store, tmp_path):
    marker = tmp_path / "m.txt"
    job = flow_to_job(load_flow("wide_flow.py"))
    result = job.execute_in_process(raise_on_error=False, instance=dg.DagsterInstance.get(), run_config={
        "ops": {"start": {"config": {"width": 101, "marker": str(marker)}}}})
    assert not result.success and "101" in _failure_text(result, "start") and not marker.exists()


def _max_concurrency(marker: Path) -> int:
    running = peak = 0
    for line in marker.read_text().splitlines():
        running += 1 if line.startswith("+") else -1
        peak = max(peak, running)
    return peak


def test_max_workers_caps_tasks_running_at_once(isolated_store, tmp_path):
    marker = tmp_path / "m.txt"
    job = flow_to_job(load_flow("wide_flow.py"),
                      resources={**default_resources(), "flowassets_runtime": FlowRuntimeResource(max_workers=2)})
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), run_config={
        "ops": {"start": {"config": {"width": 6, "marker": str(marker)}}}})
    assert result.success
    assert _max_concurrency(marker) <= 2
    assert len(marker.read_text().splitlines()) == 12
    assert Flow("WideFlow").latest_run["join"].task.data.count == 6


def test_tasks_run_in_parallel_up_to_max_workers(tmp_path):
    marker = tmp_path / "m.txt"
    done = flowassets("run", str(FLOWS / "wide_flow.py"), "--width", "8", "--marker", str(marker),
                      "--max-workers", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 2 <= _max_concurrency(marker) <= 4

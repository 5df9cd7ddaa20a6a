"""Task output in Dagster's captured logs: each task's stdout and stderr, apart and labelled
``[step/task_id]``, in the files the instance's compute-log manager keeps for the step (what the
run page's stdout/stderr buttons show), for an in-process run, a ``flowassets run``, and a run of
Dagster's multiprocess executor; and ``flowassets logs --stdout/--stderr``.

Everything is real: persistent instances under tmp_path with Dagster's default
LocalComputeLogManager, read back through its own API from the LOGS_CAPTURED events' log keys.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg

from flowassets import flow_to_job
from flowassets.client import Flow
from tests.conftest import FLOWS, ROOT, load_flow

ITEMS = ["a", "bb", "ccc"]


def captured(instance: dg.DagsterInstance, run_id: str) -> list[tuple[list[str], str, str]]:
    """(step keys, stdout, stderr) of every log capture of the run, from its LOGS_CAPTURED
    events: the key the UI asks the compute-log manager for."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.LOGS_CAPTURED).records
    manager = instance.compute_log_manager
    found = []
    for record in records:
        data = record.event_log_entry.dagster_event.event_specific_data
        log_key = manager.build_log_key_for_run(run_id, data.file_key)
        assert manager.is_capture_complete(log_key)
        logs = manager.get_log_data(log_key)
        found.append((list(data.step_keys), (logs.stdout or b"").decode(), (logs.stderr or b"").decode()))
    return found


def assert_apart_and_labelled(stdout: str, stderr: str, run: Flow, prefix: str = "item") -> None:
    """Each task's stdout line in stdout only, its stderr line in stderr only, each labelled
    with that task's own id (the task whose foreach input it printed).

    Dagster's console logger also prints the run's log events (which quote task output) to
    stderr when it is on: those lines are not labelled, so only labelled lines are compared
    there."""
    tasks = list(run["shout"])
    assert len(tasks) == 3
    for task in tasks:
        text = f"{prefix}-{ITEMS[task.index]}"
        assert f"[shout/{task.id}] stdout says {text}\n" in stdout
        assert f"[shout/{task.id}] stderr says {text}\n" in stderr
    assert "stderr says" not in stdout
    assert not re.search(r"^\[shout/[^]]*\] stdout says", stderr, re.MULTILINE)


def test_in_process_run_has_each_tasks_stdout_and_stderr_apart_in_the_captured_logs():
    instance = dg.DagsterInstance.get()
    result = flow_to_job(load_flow("printing_flow.py")).execute_in_process(
        run_config={"ops": {"start": {"config": {"prefix": "q"}}}}, instance=instance)
    assert result.success
    [(steps, stdout, stderr)] = captured(instance, result.run_id)  # one process, one capture
    assert set(steps) == {"start", "shout", "join", "end"}
    run = Flow("PrintingFlow")[result.run_id]
    assert_apart_and_labelled(stdout, stderr, run, "q")
    # The store keeps the same streams per task, unlabelled (Metaflow's Task.stdout/.stderr).
    for task in run["shout"]:
        assert task.stdout == f"stdout says q-{ITEMS[task.index]}\n"
        assert task.stderr == f"stderr says q-{ITEMS[task.index]}\n"
    assert run["start"].task.stdout == run["start"].task.stderr == ""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLOWASSETS_PROGRESS": "plain"}
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_flowassets_run_captures_streams_apart_and_logs_picks_one(tmp_path):
    ran = _cli("run", str(FLOWS / "printing_flow.py"), "--run-id-file", "rid.txt", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    run = Flow("PrintingFlow")[run_id]
    # The terminal: task stdout on the CLI's stdout, task stderr on its stderr, labelled.
    assert_apart_and_labelled(ran.stdout, ran.stderr, run)
    # Dagster's captured logs hold the tasks' output, and not the CLI's own progress lines.
    [(steps, stdout, stderr)] = captured(dg.DagsterInstance.get(), run_id)
    assert "shout" in steps
    assert_apart_and_labelled(stdout, stderr, run)
    assert "ok    shout" in ran.stdout and "ok    shout" not in stdout

    task = next(t for t in run["shout"] if t.index == 1)
    pathspec = f"PrintingFlow/{run_id}/shout/{task.id}"
    err = _cli("logs", pathspec, "--stderr", cwd=tmp_path)
    assert err.returncode == 0, err.stderr
    assert err.stdout == "stderr says item-bb\n"
    out = _cli("logs", pathspec, "--stdout", cwd=tmp_path)
    assert out.stdout == "stdout says item-bb\n"
    both = _cli("logs", pathspec, cwd=tmp_path)  # Metaflow's default: both, names on stderr
    assert both.stdout == "stdout says item-bb\nstderr says item-bb\n"
    assert [ln for ln in both.stderr.splitlines() if ln in ("stdout", "stderr")] == ["stdout", "stderr"]
    # Metaflow's form: the flow file, then RUN/STEP, every task of the step.
    step = _cli("logs", str(FLOWS / "printing_flow.py"), f"{run_id}/shout", "--stderr", cwd=tmp_path)
    assert step.returncode == 0, step.stderr
    assert [ln for ln in step.stdout.splitlines() if not ln.startswith("---")] == [
        f"stderr says item-{item}" for item in ITEMS]
    # Metaflow's own spelling: `python flow.py logs RUN/STEP/TASK --stderr`.
    script = tmp_path / "printing_flow.py"
    script.write_text((FLOWS / "printing_flow.py").read_text()
                      + "\n\nif __name__ == '__main__':\n    PrintingFlow()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    as_metaflow = subprocess.run([sys.executable, str(script), "logs", f"{run_id}/shout/{task.id}",
                                  "--stderr"], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=300)
    assert as_metaflow.returncode == 0, as_metaflow.stderr
    assert as_metaflow.stdout == "stderr says item-bb\n"
    clash = _cli("logs", pathspec, "--stdout", "--stderr", cwd=tmp_path)
    assert clash.returncode != 0 and "not allowed with" in clash.stderr


MULTIPROCESS_DEFS = """
from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class
from flowassets.translate.translator import FlowTranslator, FlowTranslatorSettings

defs = build_definitions([load_flow_class({flow!r})],
                         FlowTranslator(FlowTranslatorSettings(executor="multiprocess")))
"""


def write_multiprocess_defs(directory: Path) -> Path:
    path = directory / "multiprocess_defs.py"
    path.write_text(MULTIPROCESS_DEFS.format(flow=str(FLOWS / "printing_flow.py")))
    return path


def test_multiprocess_executor_captures_each_steps_tasks_under_that_steps_key(tmp_path):
    """Dagster's multiprocess executor runs each step in a process of its own with a capture of
    its own: the foreach step's key holds its three tasks' streams, the others none of them."""
    defs = write_multiprocess_defs(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["dagster", "job", "execute", "-f", str(defs), "-j", "PrintingFlow"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    instance = dg.DagsterInstance.get()
    [run_record] = instance.get_run_records()
    run_id = run_record.dagster_run.run_id
    by_step = {tuple(steps): (out, err) for steps, out, err in captured(instance, run_id)}
    assert set(by_step) == {("start",), ("shout",), ("join",), ("end",)}
    assert_apart_and_labelled(*by_step[("shout",)], Flow("PrintingFlow")[run_id])
    for steps, (out, err) in by_step.items():
        if steps != ("shout",):
            assert "says" not in out + err


RETRY_FLOW = '''
import sys
from flowassets import FlowSpec, current, retry, step


class RetriedFlow(FlowSpec):
    @retry(times=1, minutes_between_retries=0)
    @step
    def start(self):
        print(f"try {current.retry_count}")
        print(f"err {current.retry_count}", file=sys.stderr)
        if current.retry_count == 0:
            raise RuntimeError("first try fails")
        self.next(self.end)

    @step
    def end(self):
        pass
'''


def test_each_attempt_of_a_retried_task_is_labelled_with_its_attempt(tmp_path):
    """The first attempt's output stays in the captured logs (the terminal shows it too), the
    retry's is labelled as attempt 1; ``flowassets logs`` shows the latest attempt, as Metaflow."""
    flow = tmp_path / "retried_flow.py"
    flow.write_text(RETRY_FLOW)
    ran = _cli("run", str(flow), "--run-id-file", "rid.txt", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    [(_, stdout, stderr)] = captured(dg.DagsterInstance.get(), run_id)
    for text in (stdout, ran.stdout):
        assert "[start/1] try 0\n[start/1 attempt 1] try 1\n" in text
    for text in (stderr, ran.stderr):
        assert "[start/1] err 0\n" in text and "[start/1 attempt 1] err 1\n" in text
    latest = _cli("logs", f"RetriedFlow/{run_id}/start/1", cwd=tmp_path)
    assert latest.stdout == "try 1\nerr 1\n"

"""What the CLI's fast path changed must not lose anything: task output still reaches the
Dagster event log (batched), and the run still records its artifact store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLOW = '''
from flowassets import FlowSpec, step

class ChattyFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(20))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        print(f"item-{self.input}-done")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
'''


def test_task_output_is_batched_into_few_events_and_store_is_tagged(tmp_path: Path):
    (tmp_path / "chatty.py").write_text(FLOW)
    done = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "run", "chatty.py",
                           "--run-id-file", "rid.txt"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()

    from dagster import DagsterInstance

    instance = DagsterInstance.get()  # conftest points DAGSTER_HOME at tmp_path
    messages = [e.user_message for e in instance.all_logs(run_id)
                if e.dagster_event is None and e.step_key == "work"]
    text = "\n".join(messages)
    for i in range(20):
        assert f"item-{i}-done" in text
        assert f"[work/2-{i} (attempt 0)]" in text  # ids: step number, foreach index
    assert 1 <= len(messages) < 20
    store = instance.get_run_by_id(run_id).tags["flowassets/datastore"]
    assert store == f"local:{os.environ['FLOWASSETS_DATASTORE_SYSROOT_LOCAL']}"


LINE_FLOW = '''
from flowassets import FlowSpec, step

class LineFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.middle)

    @step
    def middle(self):
        self.x += 1
        self.next(self.end)

    @step
    def end(self):
        assert self.x == 2
'''


def test_run_keeps_its_sqlite_event_log_open_and_checkpoints_it_at_the_end(tmp_path: Path):
    """With another connection open, closing Dagster's per-event connection does not make
    SQLite checkpoint and delete the WAL each time: the WAL lives through the run, every event
    is stored, and the last close folds the WAL into the run's database."""
    from dagster import DagsterEventType, DagsterInstance

    from flowassets.cli.launch import LaunchRequest, launch

    (tmp_path / "line.py").write_text(LINE_FLOW)
    wal_seen: list[bool] = []
    runs_dir = Path(os.environ["DAGSTER_HOME"]) / "history" / "runs"

    def on_event(event) -> None:
        if event.event_type_value == "STEP_SUCCESS":
            wal_seen.append(any(runs_dir.glob("*.db-wal")))

    result = launch(LaunchRequest(str(tmp_path / "line.py"), "LineFlow", quiet=True),
                    on_event=on_event)
    assert result.success
    assert wal_seen == [True, True, True]
    assert not (runs_dir / f"{result.run_id}.db-wal").exists()
    records = DagsterInstance.get().all_logs(result.run_id, of_type=DagsterEventType.STEP_SUCCESS)
    assert sorted(r.step_key for r in records) == ["end", "middle", "start"]


def test_the_projects_own_home_keeps_every_runs_events_in_one_database(tmp_path: Path):
    """Without DAGSTER_HOME, `flowassets run` makes ./.flowassets/dagster_home with one SQLite
    event log for all runs (no per-run database to create and stamp); the client and `logs` in
    new processes read runs from it like from Dagster's default layout."""
    import subprocess
    import sys

    (tmp_path / "line.py").write_text(LINE_FLOW)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)

    for _ in range(2):
        done = run("-m", "flowassets.cli.main", "run", "line.py", "--quiet")
        assert done.returncode == 0, done.stderr
    home = tmp_path / ".flowassets" / "dagster_home"
    assert "ConsolidatedSqliteEventLogStorage" in (home / "dagster.yaml").read_text()
    assert (home / "history" / "event_log.db").exists()
    assert not list((home / "history" / "runs").glob("*-*-*.db"))  # no per-run shards
    read = run("-c", "from flowassets.client import Flow; from dagster import DagsterEventType as T\n"
               "from flowassets.client.instance import get_instance\n"
               "runs = list(Flow('LineFlow'))\n"
               "steps = [sorted(r.step_key for r in get_instance().all_logs(run.id, of_type=T.STEP_SUCCESS))"
               " for run in runs]\n"
               "print(len(runs), runs[0]['middle'].task.data.x, steps[0] == steps[1] == ['end', 'middle', 'start'])")
    assert read.returncode == 0, read.stderr
    assert read.stdout.split()[-3:] == ["2", "2", "True"]

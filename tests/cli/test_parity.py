"""CLI parity with Metaflow's: run/resume/logs/show/check, --tag, --run-id-file, and unchanged
Metaflow files (``from metaflow import ...``) through every command. Each command is a real
subprocess; results are read back by a fresh client process."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.cli.test_cli import FLOWS, flowassets, read_back

METAFLOW_RESUME = '''
import os
from metaflow import FlowSpec, Parameter, step


class MetaflowResumeFlow(FlowSpec):
    """Fails in the middle until the file `fixed` exists."""

    factor = Parameter("factor", default=1, type=int)

    @step
    def start(self):
        with open("start_runs.txt", "a") as f:
            f.write("x")
        self.items = [1, 2, 3]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        with open("body_runs.txt", "a") as f:
            f.write("x")
        print("body sees", self.input)
        self.v = self.input * self.factor
        self.next(self.join)

    @step
    def join(self, inputs):
        if not os.path.exists("fixed"):
            raise RuntimeError("not fixed yet")
        self.total = sum(i.v for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MetaflowResumeFlow()
'''

BAD_METAFLOW = '''
from metaflow import FlowSpec, step


class BadFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.missing)

    @step
    def end(self):
        pass
'''


def test_run_tag_and_run_id_file_are_recorded_on_the_dagster_run(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_USER", "tester")  # who launched it: Metaflow's variable first
    done = flowassets("run", str(FLOWS / "params_flow.py"), "--count", "3", "--tag", "team:ml",
                      "--tag", "nightly", "--run-id-file", "rid.txt", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    assert run_id in done.stdout
    data = read_back(
        "import json; from flowassets.client import Flow; "
        f"r = Flow('ParamsFlow')['{run_id}']; "
        "print(json.dumps([sorted(r.user_tags), sorted(r.tags), r.data.summary[0], "
        "json.loads(r.dagster_tags['flowassets/tags']), "
        "[x.id for x in Flow('ParamsFlow').runs('nightly')], list(Flow('ParamsFlow').runs('nightly', 'other'))]))",
        tmp_path)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert data == [["nightly", "team:ml"],
                    sorted(["nightly", "team:ml", "runtime:flowassets", "user:tester", f"date:{today}"]),
                    3, ["nightly", "team:ml"], [run_id], []]


def test_check_validates_without_running(tmp_path):
    good = flowassets("check", str(FLOWS / "params_flow.py"), cwd=tmp_path)
    assert good.returncode == 0 and "ParamsFlow: OK (2 steps)" in good.stdout
    (tmp_path / "bad.py").write_text(BAD_METAFLOW)
    bad = flowassets("check", "bad.py", cwd=tmp_path)
    assert bad.returncode == 1
    assert "BadFlow" in bad.stderr and "'missing'" in bad.stderr and "start" in bad.stderr
    assert "Traceback" not in bad.stderr
    runs = read_back("import json, dagster as dg; "
                     "print(json.dumps(len(dg.DagsterInstance.get().get_runs())))", tmp_path)
    assert runs == 0  # check never starts a run


def test_metaflow_file_through_show_check_run_logs_and_resume(tmp_path):
    flow = tmp_path / "mf_resume.py"
    flow.write_text(METAFLOW_RESUME)
    show = flowassets("show", str(flow), cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    assert "Fails in the middle" in show.stdout and "=> foreach items: body" in show.stdout
    assert "parameter --factor (int, default 1)" in show.stdout
    assert flowassets("check", str(flow), cwd=tmp_path).returncode == 0

    first = flowassets("run", str(flow), "--factor", "2", "--run-id-file", "first.txt", cwd=tmp_path)
    assert first.returncode == 1 and "not fixed yet" in first.stderr
    first_id = (tmp_path / "first.txt").read_text().strip()

    # Both logs forms: FLOW/RUN/STEP and Metaflow's FILE RUN/STEP (here one task of it).
    logs = flowassets("logs", f"MetaflowResumeFlow/{first_id}/body", cwd=tmp_path)
    assert logs.returncode == 0, logs.stderr
    assert all(f"body sees {i}" in logs.stdout for i in (1, 2, 3))
    task_id = read_back("import json; from flowassets.client import Flow; "
                        f"print(json.dumps([t.id for t in Flow('MetaflowResumeFlow')['{first_id}']['body']]))",
                        tmp_path)[1]
    one = flowassets("logs", str(flow), f"{first_id}/body/{task_id}", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert one.stdout.count("body sees") == 1

    (tmp_path / "fixed").touch()
    second = flowassets("resume", str(flow), "--run-id-file", "second.txt", "--tag", "resumed",
                        cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "start_runs.txt").read_text() == "x"  # not re-run
    assert (tmp_path / "body_runs.txt").read_text() == "xxx"  # not re-run
    second_id = (tmp_path / "second.txt").read_text().strip()
    data = read_back(
        "import json; from flowassets.client import Flow; "
        f"r = Flow('MetaflowResumeFlow')['{second_id}']; "
        "print(json.dumps([r.successful, r.data.total, sorted(t.data.v for t in r['body']), "
        "sorted(r.user_tags)]))", tmp_path)
    assert data == [True, 12, [2, 4, 6], ["resumed"]]  # --factor 2 carried over from the origin


def test_python_flow_file_logs_like_metaflow(tmp_path):
    """``python flow.py run`` then ``python flow.py logs RUN/STEP`` on a flowassets file."""
    flow = tmp_path / "printing.py"
    flow.write_text(
        "from flowassets import FlowSpec, step\n\n"
        "class PrintingFlow(FlowSpec):\n"
        "    @step\n    def start(self):\n        print('hello from start')\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n\n"
        "if __name__ == '__main__':\n    PrintingFlow()\n")
    env_run = subprocess.run([sys.executable, str(flow), "run", "--run-id-file", "rid.txt"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert env_run.returncode == 0, env_run.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    logs = subprocess.run([sys.executable, str(flow), "logs", f"{run_id}/start"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert logs.returncode == 0, logs.stderr
    assert "hello from start" in logs.stdout
    wrong = flowassets("logs", "only-one-part", cwd=tmp_path)
    assert wrong.returncode == 1 and "FLOW/RUN_ID/STEP" in wrong.stderr


def test_run_id_file_is_written_before_the_first_step(tmp_path):
    done = flowassets("run", str(FLOWS / "run_id_flow.py"), "--path", str(tmp_path / "rid.txt"),
                      "--run-id-file", str(tmp_path / "rid.txt"), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    from flowassets.client import Flow

    data = Flow("RunIdFlow").latest_run["start"].task.data
    assert data.seen == data.own == (tmp_path / "rid.txt").read_text()

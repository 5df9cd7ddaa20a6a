"""IncludeFile with flowassets' own API: a default beside the flow file, a missing file refused
before any run exists, and the launchpad's path field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import flowassets, read_back

FLOW = '''
from flowassets import FlowSpec, IncludeFile, step


class NotesFlow(FlowSpec):
    notes = IncludeFile("notes", default="notes.txt", help="notes to count")

    @step
    def start(self):
        self.words = len(self.notes.split())
        self.next(self.end)

    @step
    def end(self):
        print("words:", self.words, "first:", self.notes.split()[0])
'''


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes_flow.py").write_text(FLOW)
    (project / "notes.txt").write_text("one two three\nfour\n")
    return project / "notes_flow.py"


def test_default_beside_the_flow_file_works_from_any_directory(tmp_path):
    flow = _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = flowassets("run", str(flow), "--run-id-file", "rid.txt", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "words: 4 first: one" in done.stdout
    run_id = (elsewhere / "rid.txt").read_text().strip()
    data = read_back("import json; from flowassets.client import Flow; "
                     f"r = Flow('NotesFlow')['{run_id}']; print(json.dumps([r.data.notes, r.data.words]))",
                     elsewhere)
    assert data == ["one two three\nfour\n", 4]  # the contents are an artifact of the run


def test_a_missing_file_is_refused_before_any_run(tmp_path):
    flow = _project(tmp_path)
    done = flowassets("run", str(flow), "--notes", "missing.txt", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: flow NotesFlow: IncludeFile 'notes': cannot read '{tmp_path / 'missing.txt'}' "
        "(No such file or directory). Pass an existing file: --notes PATH.")
    assert "Run " not in done.stdout
    runs = read_back("import json; from flowassets.client.instance import get_instance; "
                     "print(json.dumps(len(get_instance().get_runs())))", tmp_path)
    assert runs == 0


def test_launchpad_takes_a_path_and_the_start_step_reads_it(tmp_path):
    flow = _project(tmp_path)
    other = tmp_path / "other.txt"
    other.write_text("alpha beta")
    code = (
        "import json, sys; import dagster as dg; from flowassets import flow_to_job; "
        "from flowassets.authoring.loader import load_flow_class; "
        f"job = flow_to_job(load_flow_class({str(flow)!r})); "
        "schema = job.graph.node_named('start').definition.config_schema.config_type.fields['notes']; "
        f"ok = job.execute_in_process(run_config={{'ops': {{'start': {{'config': {{'notes': {str(other)!r}}}}}}}}}, "
        "instance=dg.DagsterInstance.get()); "
        f"bad = job.execute_in_process(run_config={{'ops': {{'start': {{'config': {{'notes': 'gone.txt'}}}}}}}}, "
        "instance=dg.DagsterInstance.get(), raise_on_error=False); "
        "failure = [e for e in bad.all_events if e.event_type_value == 'STEP_FAILURE'][0]; "
        "print(json.dumps([schema.default_value, 'IncludeFile' in schema.description, "
        "ok.output_for_node('start').tasks[0].artifacts['notes'].size, bad.success, "
        "failure.event_specific_data.user_failure_data.description]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    default, described, size, success, message = json.loads(out.stdout.strip().splitlines()[-1])
    assert default == str(tmp_path / "project" / "notes.txt") and described
    assert size > 0 and success is False
    assert "IncludeFile 'notes': cannot read 'gone.txt'" in message and "NotesFlow" in message

"""`flowassets resume`: a failed run, fixed, resumed without re-running upstream steps."""

from __future__ import annotations

import shutil

from tests.cli.test_cli import FLOWS, flowassets, read_back


def test_resume_reuses_upstream_artifacts(tmp_path):
    flow = tmp_path / "resume_flow.py"
    shutil.copy(FLOWS / "resume_flow.py", flow)
    first = flowassets("run", str(flow), "--run-id-file", "first.txt", cwd=tmp_path)
    assert first.returncode == 1
    assert "not fixed yet" in first.stderr
    (tmp_path / "fixed").touch()
    second = flowassets("resume", str(flow), "--run-id-file", "second.txt", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    # Side-effect counters: upstream steps ran exactly once across both runs.
    assert (tmp_path / "start_runs.txt").read_text() == "x"
    assert (tmp_path / "body_runs.txt").read_text() == "xxx"
    second_id = (tmp_path / "second.txt").read_text().strip()
    first_id = (tmp_path / "first.txt").read_text().strip()
    assert second_id != first_id
    data = read_back(
        "import json; from flowassets.client import Flow; "
        f"r = Flow('ResumeFlow')['{second_id}']; "
        "print(json.dumps([r.successful, r.data.total, [t.data.v for t in r['body']]]))", tmp_path)
    assert data == [True, 12, [2, 4, 6]]


def test_resume_from_a_named_step_of_a_successful_run(tmp_path):
    flow = tmp_path / "resume_flow.py"
    shutil.copy(FLOWS / "resume_flow.py", flow)
    (tmp_path / "fixed").touch()
    assert flowassets("run", str(flow), cwd=tmp_path).returncode == 0
    again = flowassets("resume", str(flow), "body", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "start_runs.txt").read_text() == "x"
    assert (tmp_path / "body_runs.txt").read_text() == "xxxxxx"


def test_resume_without_step_of_successful_run_is_refused(tmp_path):
    flow = tmp_path / "resume_flow.py"
    shutil.copy(FLOWS / "resume_flow.py", flow)
    (tmp_path / "fixed").touch()
    assert flowassets("run", str(flow), cwd=tmp_path).returncode == 0
    refused = flowassets("resume", str(flow), cwd=tmp_path)
    assert refused.returncode == 1
    assert "succeeded" in refused.stderr and "ResumeFlow" in refused.stderr

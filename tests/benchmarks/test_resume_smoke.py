"""The resume benchmark end to end at a tiny size (6 tasks that do nothing, task 3 failing): both
runtimes' first runs fail, each of their two resumes of it re-runs exactly the failed task, and
every case lands in the JSON with figures. Speed is not asserted (see benchmarks/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.benchmarks.report_checks import assert_side_by_side, is_number

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_resume_reruns_exactly_the_failed_task_on_both_sides(tmp_path):
    output = tmp_path / "resume.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "resume.py"), "--tasks", "6",
                           "--task-s", "0", "--fail-index", "3", "--timed", "2",
                           "--output", str(output)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    report = json.loads(output.read_text())
    assert report["sizes"] == {"tasks": 6, "task_s": 0.0, "fail_index": 3, "max_workers": 16}
    names = {f"{what}{home}" for what in ("resume", "one_task", "first_run")
             for home in ("", "_own_home")}
    assert set(report["cases"]) == names
    for name, case in report["cases"].items():
        assert case["title"] in done.stdout, name
        assert_side_by_side(name, case)
    for name in ("resume", "resume_own_home"):
        case = report["cases"][name]
        for side in ("flowassets", "metaflow"):
            extra = case[side]["extra"]
            assert extra["origin_run_id"] and extra["origin_run_id"] != extra["run_id"]
            assert extra["rerun_check"]["ok"] is True, (name, side)
            assert extra["rerun_check"]["ran_in_this_resume"] == {
                "work-0003": 1, "join": 1, "end": 1}, (name, side)
            check = case["rerun_check"][side]  # the first run and the first resume together
            assert check == {"ok": True, "work_tasks_written": 6, "work_tasks_written_once": 5,
                             "work_tasks_written_twice": [3], "work_tasks_written_other": {},
                             "steps_written": {"start": 1, "join": 1, "end": 1},
                             "ran_in_this_resume": {"work-0003": 1, "join": 1, "end": 1}}, (name, side)
        assert case["rerun_check"]["resumes_checked"] == 2
        assert "5 of 6 from run" in case["flowassets"]["extra"]["cloned"], name
        assert case["metaflow"]["extra"]["cloned"].startswith("5 "), name
        versus = case["resume_vs_one_task"]
        assert is_number(versus["flowassets"]) and is_number(versus["metaflow"]), name

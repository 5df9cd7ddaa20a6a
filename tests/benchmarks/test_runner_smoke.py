"""The benchmark harness end to end at tiny sizes: every case runs under flowassets and Metaflow
and lands in the JSON with numbers. Speed is not asserted here (see benchmarks/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.benchmarks.report_checks import assert_side_by_side, is_number

ROOT = Path(__file__).resolve().parents[2]
CASES = ("foreach", "linear", "large_artifact", "translate", "cold_start", "cold_start_worker",
         "linear_worker")


def test_quick_run_reports_every_case(tmp_path):
    output = tmp_path / "latest.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                           "--output", str(output)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    results = json.loads(output.read_text())
    assert results["quick"] is True
    assert set(results["cases"]) == set(CASES)
    for name, case in results["cases"].items():
        if name.endswith("_worker"):  # two rows: the worker warm and cold, each beside Metaflow
            for mode in ("warm", "cold"):
                assert case[mode]["title"] in done.stdout, (name, mode)
                assert_side_by_side(f"{name}:{mode}", case[mode])
            memory = case["warm"]["worker_memory"]
            assert memory["workers"] == 1 and memory["rss_mb"] > 50, memory
            assert f"the warm worker's resident memory {memory['rss_mb']} MB" in done.stdout
            continue
        assert case["title"] in done.stdout, name
        for target in case["targets"]:
            assert is_number(target["value"]) and isinstance(target["met"], bool), (name, target)
        if name == "translate":
            assert case["metaflow"] is None
            assert case["flowassets"]["nodes"] == results["sizes"]["translate_steps"]
            assert is_number(case["flowassets"]["flow_to_job_s"])
            continue
        assert_side_by_side(name, case)
    for side in ("flowassets", "metaflow"):
        small = results["cases"]["large_artifact"][side]["extra"]["small_step"]
        assert is_number(small["task_s"]) and small["task_s"] >= 0, side
    assert {t["name"] for t in results["cases"]["large_artifact"]["targets"]} >= {
        "wall ratio", "small step task time (s)"}

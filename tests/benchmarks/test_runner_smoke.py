"""The benchmark harness end to end at tiny sizes: every case runs under flowassets and Metaflow
and lands in the JSON with numbers. Speed is not asserted here (see benchmarks/README.md)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = ("foreach", "linear", "large_artifact", "translate", "cold_start")


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_run_reports_every_case(tmp_path):
    output = tmp_path / "latest.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                           "--output", str(output)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    results = json.loads(output.read_text())
    assert results["quick"] is True
    assert set(results["cases"]) == set(CASES)
    for name, case in results["cases"].items():
        assert case["title"] in done.stdout, name
        for target in case["targets"]:
            assert _number(target["value"]) and isinstance(target["met"], bool), (name, target)
        if name == "translate":
            assert case["metaflow"] is None
            assert case["flowassets"]["nodes"] == results["sizes"]["translate_steps"]
            assert _number(case["flowassets"]["flow_to_job_s"])
            continue
        assert _number(case["ratio"]) and case["ratio"] > 0, name
        for side in ("flowassets", "metaflow"):
            figures = case[side]
            for key in ("wall_s", "cpu_s", "peak_rss_mb", "peak_tree_pss_mb"):
                assert _number(figures[key]) and figures[key] > 0, (name, side, key)
            assert figures["extra"]["run_id"], (name, side)
    for side in ("flowassets", "metaflow"):
        small = results["cases"]["large_artifact"][side]["extra"]["small_step"]
        assert _number(small["task_s"]) and small["task_s"] >= 0, side
    assert {t["name"] for t in results["cases"]["large_artifact"]["targets"]} >= {
        "wall ratio", "small step task time (s)"}

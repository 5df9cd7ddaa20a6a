"""The store throughput benchmark end to end at a tiny size (its own SeaweedFS server): every way
lands in the JSON with figures and ratios. Speed is not asserted (see benchmarks/README.md)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAYS = ("boto3", "boto3 (our part size)", "flowassets backend", "flowassets artifact")


def test_tiny_run_reports_every_way(tmp_path):
    output = tmp_path / "throughput.json"
    env = {**os.environ, "FLOWASSETS_STORAGE_PART_MB": "5"}  # 12 MiB: three parts each way
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "store_throughput.py"),
                           "--mib", "12", "--repeat", "1", "--output", str(output)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    report = json.loads(output.read_text())
    assert report["mib"] == 12 and set(report["ways"]) == set(WAYS)
    for name, way in report["ways"].items():
        assert name in done.stdout
        for key in ("upload_mib_s", "download_mib_s", "upload_ratio", "download_ratio",
                    "upload_peak_rss_mib", "download_peak_rss_mib"):
            assert isinstance(way[key], (int, float)) and math.isfinite(way[key]) and way[key] > 0
    assert report["ways"]["boto3"]["upload_ratio"] == 1.0

"""Checks shared by the benchmark smoke tests: every figure a report holds is a real number."""

from __future__ import annotations

import math
from typing import Any


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def assert_side_by_side(name: str, case: dict[str, Any]) -> None:
    """A case measured on both sides: a positive ratio, and positive times and memory for each."""
    assert is_number(case["ratio"]) and case["ratio"] > 0, name
    for side in ("flowassets", "metaflow"):
        figures = case[side]
        for key in ("wall_s", "cpu_s", "peak_rss_mb", "peak_tree_pss_mb"):
            assert is_number(figures[key]) and figures[key] > 0, (name, side, key)
        assert figures["extra"]["run_id"], (name, side)

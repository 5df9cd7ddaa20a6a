"""Unchanged Metaflow flow files (``from metaflow import ...``) under flowassets, through the CLI
and through ``flow_to_job``, with exactly the artifacts ``python flow.py run`` stores under
Metaflow 2.19 in the same session: every task of every step, including end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .harness import Case, ThreeWay, run_three_ways

pytestmark = pytest.mark.xdist_group("metaflow_files")
TABLE = str(Path(__file__).resolve().parent / "flows" / "data" / "table.csv")

CASES = [
    Case("split_join.py", "SplitJoinFlow", ("--alpha", "3"),
         "{'ops': {'start': {'config': {'alpha': 3}}}}"),
    Case("foreach.py", "ForeachFlow"),
    Case("nested_foreach.py", "NestedForeachFlow"),
    Case("switch.py", "SwitchFlow", ("--mode", "slow"),
         "{'ops': {'start': {'config': {'mode': 'slow'}}}}"),
    Case("merge_flow.py", "MergeFlow"),
    Case("include_file.py", "IncludeFlow", ("--table", TABLE, "--raw", TABLE),
         f"{{'ops': {{'start': {{'config': {{'table': {TABLE!r}, 'raw': {TABLE!r}}}}}}}}}"),
    Case("config_flow.py", "ConfigFlow",
         config_args=("--config-value", "model", '{"cpu": 3, "name": "big", "layers": [4, 5]}'),
         job_configs="{'model': {'cpu': 3, 'name': 'big', 'layers': [4, 5]}}"),
    Case("loop.py", "LoopFlow", ("--target", "4"), "{'ops': {'start': {'config': {'target': 4}}}}"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, ThreeWay]:
    return run_three_ways(CASES, tmp_path_factory.mktemp("metaflow_files"))


@pytest.mark.parametrize("flow", [c.flow for c in CASES])
def test_same_artifacts_as_metaflow(runs, flow):
    result = runs[flow]
    result.assert_same()
    # The comparison covered real work, not two empty reads.
    assert result.metaflow.successful and result.cli.successful and result.job.successful
    assert result.metaflow.tasks("end") and len(result.cli.steps) == len(result.metaflow.steps)


def test_values_are_the_expected_ones(runs):
    """Spot checks, so the equality above is known to be about meaningful values."""
    assert runs["SplitJoinFlow"].cli.artifacts("end")[0]["total"] == 31 + 32 + 33 + 3
    assert runs["ForeachFlow"].job.artifacts("join")[0]["pairs"] == [(0, "x"), (1, "yy"), (2, "zzz")]
    assert runs["NestedForeachFlow"].cli.artifacts("end")[0]["grid"] == ["1a", "1b", "2a", "2b"]
    assert runs["SwitchFlow"].job.artifacts("end")[0]["final"] == "SLOW:1"
    assert "fast" not in runs["SwitchFlow"].cli.steps or not runs["SwitchFlow"].cli.tasks("fast")
    merged = runs["MergeFlow"].cli.artifacts("join")[0]
    assert "only_right" not in merged and merged["only_left"] == [1, 2] and merged["overwritten"] == 2
    included = runs["IncludeFlow"].cli.artifacts("join")[0]
    assert included["names"] == ["alpha", "beta", "gamma"] and included["size"] == 23
    assert included["raw"] == Path(TABLE).read_bytes()
    for way in ("metaflow", "cli", "job"):  # the given config, its parser, config_expr, defaults
        end = getattr(runs["ConfigFlow"], way).artifacts("end")[0]
        assert end["model"] == {"cpu": 3, "name": "big", "layers": [4, 5]}, way
        assert end["owners"] == {"team": "ml", "owner": "ana"}, way
        assert end["summary"] == "big:ml:43", way  # budget 3 * 10 + len("budget"), + 3 + 4
        start = getattr(runs["ConfigFlow"], way).artifacts("start")[0]
        assert (start["env_name"], start["owner"], start["immutable"]) == ("big", "ana", True), way


def test_loop_passes_are_tasks_as_in_metaflow(runs):
    """A recursive switch: every pass is a task of its step with its own artifacts (the
    comparison above checks each pass's values), as many as Metaflow runs; inside a foreach,
    each item's chain loops its own number of times."""
    for way in ("metaflow", "cli", "job"):
        run = getattr(runs["LoopFlow"], way)
        grow = sorted((t["count"], t["history"], t["status"]) for t in run.artifacts("grow"))
        assert grow == [(1, [10], "more"), (2, [10, 20], "more"), (3, [10, 20, 30], "more"),
                        (4, [10, 20, 30, 40], "enough")], way
        spins = sorted((t["label"], t["done"], t["again"]) for t in run.artifacts("spin"))
        assert spins == [("a", 1, "True"), ("a", 2, "False"), ("b", 1, "True"),
                         ("b", 2, "True"), ("b", 3, "False")], way
        assert run.artifacts("end")[0]["final"] == (4, 100, ["a:2", "b:3"]), way


def test_flowassets_api_does_not_need_metaflow(tmp_path):
    """With ``import metaflow`` made to fail, a flowassets flow still builds and runs."""
    flow = tmp_path / "plain.py"
    flow.write_text(
        "from flowassets import FlowSpec, step\n\n"
        "class PlainFlow(FlowSpec):\n"
        "    @step\n    def start(self):\n        self.x = 1\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        print('x is', self.x)\n")
    blocker = (
        "import sys, runpy\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'metaflow' or name.startswith('metaflow.'):\n"
        "            raise ImportError('metaflow is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import flowassets; flowassets.flow_to_job\n"
        "sys.argv = ['flowassets', 'run', sys.argv[1]]\n"
        "runpy.run_module('flowassets.cli.main', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", blocker, str(flow)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "x is 1" in proc.stdout + proc.stderr

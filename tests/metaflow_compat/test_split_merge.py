"""Parameters, `current`, a 3-way static split and merge_artifacts include/exclude, against
Metaflow: one Metaflow run shared by the tests of this module."""

from __future__ import annotations

import pytest

from .harness import Comparison

pytestmark = pytest.mark.xdist_group("compat_split_merge")

SOURCE = '''
from metaflow import FlowSpec, step, Parameter, JSONType, current


def shape():
    """What `current` says, in a form that is equal across systems when it is well formed."""
    parts = (current.pathspec or "").split("/")
    return {
        "flow_name": current.flow_name,
        "step_name": current.step_name,
        "run_id_is_str": isinstance(current.run_id, str) and len(current.run_id) > 0,
        "task_id_is_str": isinstance(current.task_id, str) and len(current.task_id) > 0,
        "pathspec_parts": parts[0::2] if len(parts) == 4 else parts,
        "pathspec_ids_match": parts[1::2] == [current.run_id, current.task_id],
        "retry_count": current.retry_count,
    }


class SplitMergeFlow(FlowSpec):
    count = Parameter("count", default=1, type=int)
    ratio = Parameter("ratio", default=0.5, type=float)
    flag = Parameter("flag", default=False, type=bool)
    label = Parameter("label", default="x", type=str)
    config = Parameter("config", default='{"k": 1}', type=JSONType)
    untouched = Parameter("untouched", default=7)

    @step
    def start(self):
        self.doubled = self.count * 2
        self.shared = "same"
        self.shape = shape()
        self.types = [type(v).__name__ for v in
                      (self.count, self.ratio, self.flag, self.label, self.config, self.untouched)]
        self.next(self.a, self.b, self.c)

    @step
    def a(self):
        self.branch_value = "a"
        self.only_a = [1, 2]
        self.common = 5
        self.shape = shape()
        self.next(self.join_include)

    @step
    def b(self):
        self.branch_value = "b"
        self.only_b = {"b": (1, 2.5)}
        self.common = 5
        self.shape = shape()
        self.next(self.join_include)

    @step
    def c(self):
        self.branch_value = "c"
        self.common = 5
        self.shared = "same"
        self.shape = shape()
        self.next(self.join_include)

    @step
    def join_include(self, inputs):
        self.branches = sorted(i.branch_value for i in inputs)
        self.by_name = [inputs.a.branch_value, inputs.b.branch_value, inputs.c.branch_value]
        self.merge_artifacts(inputs, include=["only_a", "common", "doubled"])
        self.shape = shape()
        self.next(self.middle)

    @step
    def middle(self):
        self.next(self.x, self.y)

    @step
    def x(self):
        self.branch_value = 1
        self.x_only = "x"
        self.next(self.join_exclude)

    @step
    def y(self):
        self.branch_value = 2
        self.common = 5
        self.next(self.join_exclude)

    @step
    def join_exclude(self, inputs):
        self.total = sum(i.branch_value for i in inputs)
        self.merge_artifacts(inputs, exclude=["branch_value"])
        self.next(self.end)

    @step
    def end(self):
        self.final = (self.count, self.ratio, self.flag, self.label, self.config, self.untouched)
        self.visible = sorted(n for n in ("branch_value", "only_b", "shared", "x_only", "only_a",
                                          "common", "doubled", "branches") if hasattr(self, n))
        self.shape = shape()
'''

ARGS = ("--count", "3", "--ratio", "2.25", "--flag", "True", "--label", "hello world",
        "--config", '{"a": [1, 2], "b": null}')


@pytest.fixture(scope="module")
def result(compare_flow) -> Comparison:
    return compare_flow(SOURCE, ARGS)


def test_every_task_has_the_same_artifacts_as_metaflow(result):
    result.assert_same()


def test_parameters_from_the_command_line_have_their_types(result):
    (start,) = result.flowassets.artifacts("start")
    assert start["types"] == ["int", "float", "bool", "str", "dict", "int"]
    (end,) = result.flowassets.artifacts("end")
    assert end["final"] == (3, 2.25, True, "hello world", {"a": [1, 2], "b": None}, 7)
    assert result.metaflow.artifacts("end")[0]["final"] == end["final"]


def test_current_is_set_in_every_step(result):
    for run in (result.metaflow, result.flowassets):
        for step in ("start", "a", "b", "c", "join_include", "end"):
            (task,) = run.artifacts(step)
            assert task["shape"] == {
                "flow_name": "SplitMergeFlow", "step_name": step, "run_id_is_str": True,
                "task_id_is_str": True, "retry_count": 0, "pathspec_ids_match": True,
                "pathspec_parts": ["SplitMergeFlow", step],
            }, (run.system, step)


def test_include_merges_only_the_named_artifacts(result):
    (join,) = result.flowassets.artifacts("join_include")
    assert join["only_a"] == [1, 2] and join["common"] == 5 and join["doubled"] == 6
    assert "only_b" not in join and "shared" not in join
    assert join["by_name"] == ["a", "b", "c"]


def test_unmerged_artifact_that_differs_does_not_pass_the_join(result):
    for run in (result.metaflow, result.flowassets):
        (end,) = run.artifacts("end")
        assert "branch_value" not in end, run.system
        assert end["visible"] == ["branches", "common", "doubled", "only_a", "x_only"], run.system

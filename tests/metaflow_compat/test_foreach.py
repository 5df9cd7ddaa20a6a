"""Foreach over several kinds of iterables, nested three levels deep, with self.input,
self.index and foreach_stack() read everywhere (bodies and joins), against Metaflow."""

from __future__ import annotations

import pytest

from .harness import Comparison

pytestmark = pytest.mark.xdist_group("compat_foreach")

SOURCE = '''
from metaflow import FlowSpec, step


def where(flow):
    return {"input": flow.input, "index": flow.index, "stack": flow.foreach_stack()}


class ForeachKindsFlow(FlowSpec):
    @step
    def start(self):
        self.where = where(self)
        self.numbers = range(2, 5)
        self.next(self.over_range, foreach="numbers")

    @step
    def over_range(self):
        self.where = where(self)
        self.letters = "xy"
        self.next(self.over_string, foreach="letters")

    @step
    def over_string(self):
        self.where = where(self)
        self.pairs = ((1, "a"), (2, "b"))
        self.next(self.over_tuple, foreach="pairs")

    @step
    def over_tuple(self):
        self.where = where(self)
        self.leaf = (self.foreach_stack()[0][2], self.foreach_stack()[1][2], self.input[1])
        self.next(self.join_tuple)

    @step
    def join_tuple(self, inputs):
        self.where = where(self)
        self.leaves = sorted(i.leaf for i in inputs)
        self.merge_artifacts(inputs, include=["letters"])
        self.next(self.join_string)

    @step
    def join_string(self, inputs):
        self.where = where(self)
        self.leaves = sorted(leaf for i in inputs for leaf in i.leaves)
        self.merge_artifacts(inputs, include=["letters"])
        self.next(self.join_range)

    @step
    def join_range(self, inputs):
        self.where = where(self)
        self.leaves = sorted(leaf for i in inputs for leaf in i.leaves)
        self.next(self.more)

    @step
    def more(self):
        self.int_keys = {0: "zero", 1: "one", 2: "two"}
        self.next(self.over_int_dict, foreach="int_keys")

    @step
    def over_int_dict(self):
        self.where = where(self)
        self.one_set = {"only"}
        self.next(self.over_set, foreach="one_set")

    @step
    def over_set(self):
        self.where = where(self)
        self.next(self.join_set)

    @step
    def join_set(self, inputs):
        self.seen = sorted(str(i.where) for i in inputs)
        self.next(self.join_int_dict)

    @step
    def join_int_dict(self, inputs):
        self.values = sorted(i.seen[0] for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.where = where(self)
'''


@pytest.fixture(scope="module")
def result(compare_flow) -> Comparison:
    return compare_flow(SOURCE)


def test_every_task_has_the_same_artifacts_as_metaflow(result):
    result.assert_same()


def test_nested_three_levels_reach_every_leaf(result):
    leaves = result.flowassets.artifacts("join_range")[0]["leaves"]
    assert len(leaves) == 3 * 2 * 2
    assert leaves[0] == (2, "x", "a") and leaves[-1] == (4, "y", "b")


def test_input_index_and_foreach_stack_in_the_innermost_body(result):
    tasks = {t["path"]: t["data"] for t in result.flowassets.tasks("over_tuple")}
    assert len(tasks) == 12
    where = {k: v for k, v in tasks[(2, 1, 0)].items() if k == "where"}["where"]
    from .harness import plain
    assert plain(where) == {"input": (1, "a"), "index": 0,
                            "stack": [(2, 3, 4), (1, 2, "y"), (0, 2, (1, "a"))]}


def test_foreach_over_an_int_keyed_dict_gives_values_as_metaflow_does(result):
    got = sorted(t["where"]["input"] for t in result.flowassets.artifacts("over_int_dict"))
    assert got == ["one", "two", "zero"]


def test_input_is_none_past_a_join_that_did_not_merge_the_foreach_variable(result):
    for run in (result.metaflow, result.flowassets):
        wheres = [t["where"] for t in run.artifacts("join_string")]
        assert [w["input"] for w in wheres] == [None, None, None], run.system
        assert [w["stack"] for w in wheres] == [[(i, 3, None)] for i in range(3)], run.system

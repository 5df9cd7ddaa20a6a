"""Switches against Metaflow: one driven by a Parameter (both values, one Metaflow run each),
a switch inside a foreach, a static split inside the same foreach, and joins after them."""

from __future__ import annotations

import pytest

from .harness import Comparison

pytestmark = pytest.mark.xdist_group("compat_switch")

SOURCE = '''
from metaflow import FlowSpec, Parameter, step


class SwitchFlow(FlowSpec):
    mode = Parameter("mode", default="fast", type=str)

    @step
    def start(self):
        self.route = self.mode
        self.next({"fast": self.fast, "slow": self.slow}, condition="route")

    @step
    def fast(self):
        self.speed = 1
        self.next(self.after)

    @step
    def slow(self):
        self.speed = 100
        self.slow_only = "s"
        self.next(self.after)

    @step
    def after(self):
        self.items = [1, 2, 3, 4, 5]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.kind = "even" if self.input % 2 == 0 else "odd"
        self.next({"even": self.even, "odd": self.odd}, condition="kind")

    @step
    def even(self):
        self.val = self.input * 10
        self.next(self.meet)

    @step
    def odd(self):
        self.val = self.input + 1000
        self.odd_only = True
        self.next(self.meet)

    @step
    def meet(self):
        self.seen = (self.kind, self.val, self.input, self.index)
        self.next(self.left, self.right)

    @step
    def left(self):
        self.side = "L"
        self.part = self.val * 2
        self.next(self.inner_join)

    @step
    def right(self):
        self.side = "R"
        self.part = self.val * 3
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.parts = sorted(i.part for i in inputs)
        self.merge_artifacts(inputs, exclude=["side", "part"])
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.all_parts = sorted(p for i in inputs for p in i.parts)
        self.kinds = sorted(i.kind for i in inputs)
        self.merge_artifacts(inputs, include=["speed"])
        self.next(self.end)

    @step
    def end(self):
        self.has_slow_only = hasattr(self, "slow_only")
'''


@pytest.fixture(scope="module", params=["fast", "slow"])
def result(compare_flow, request) -> Comparison:
    return compare_flow(SOURCE, ("--mode", request.param))


def test_every_task_has_the_same_artifacts_as_metaflow(result):
    result.assert_same()


def test_only_the_chosen_branch_ran(result):
    for run in (result.metaflow, result.flowassets):
        (start,) = run.artifacts("start")
        chosen = start["route"]
        other = {"fast": "slow", "slow": "fast"}[chosen]
        assert len(run.tasks(chosen)) == 1 and not run.tasks(other), run.system
        assert run.artifacts("end")[0]["speed"] == {"fast": 1, "slow": 100}[chosen]


def test_switch_inside_foreach_routes_each_item(result):
    for run in (result.metaflow, result.flowassets):
        assert sorted(t["path"] for t in run.tasks("even")) == [(1,), (3,)], run.system
        assert sorted(t["path"] for t in run.tasks("odd")) == [(0,), (2,), (4,)], run.system
        assert [t["seen"] for t in run.artifacts("meet")] == [
            ("odd", 1001, 1, 0), ("even", 20, 2, 1), ("odd", 1003, 3, 2), ("even", 40, 4, 3),
            ("odd", 1005, 5, 4)], run.system


def test_split_inside_foreach_joins_per_item(result):
    for run in (result.metaflow, result.flowassets):
        assert [t["parts"] for t in run.artifacts("inner_join")] == [
            [2002, 3003], [40, 60], [2006, 3009], [80, 120], [2010, 3015]], run.system
        assert [("side" in t, "seen" in t) for t in run.artifacts("inner_join")] == [(False, True)] * 5

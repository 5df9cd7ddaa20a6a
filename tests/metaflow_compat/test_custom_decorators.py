"""flowassets' own custom decorators and mutators (``from flowassets import ...``) against
Metaflow 2.19 running the same source: the custom-decorator flow of tests/metaflow_files
(every wrapper shape) and a flow whose mutators add, remove and override decorators."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("compat_custom_decorators")

WRAPPERS = (Path(__file__).resolve().parents[1] / "metaflow_files" / "flows"
            / "custom_decorators.py").read_text()

MUTATORS = '''
import os

from metaflow import FlowMutator, FlowSpec, StepMutator, current, environment, retry, step
from metaflow import timeout, user_step_decorator


@user_step_decorator
def doubled(step_name, flow, inputs, attributes):
    yield
    flow.doubled = [v * attributes["factor"] for v in flow.values]


class Retried(StepMutator):
    def init(self, *args, **kwargs):
        self.times = args[0]

    def pre_mutate(self, mutable_step):
        mutable_step.add_decorator("retry:times=%d,minutes_between_retries=0" % self.times)

    def mutate(self, mutable_step):
        mutable_step.add_decorator(doubled, deco_kwargs={"factor": 3})
        # Already there (from pre_mutate): kept as it is.
        mutable_step.add_decorator(retry, deco_kwargs={"times": 9})


class EnvEverywhere(FlowMutator):
    def mutate(self, mutable_flow):
        for name, mutable_step in mutable_flow.steps:
            if mutable_step.has_decorator("environment"):
                mutable_step.remove_decorator("environment")
            mutable_step.add_decorator(environment, deco_kwargs={"vars": {"WHERE": name}})
            mutable_step.add_decorator(timeout, deco_kwargs={"seconds": 120})


@EnvEverywhere
class MutatedFlow(FlowSpec):
    @environment(vars={"WHERE": "by hand"})
    @step
    def start(self):
        self.where = [os.environ["WHERE"]]
        self.next(self.work)

    @Retried(1)
    @step
    def work(self):
        if current.retry_count == 0:
            raise RuntimeError("first attempt fails")
        self.values = [1, 2]
        self.where = self.where + [os.environ["WHERE"], str(current.retry_count)]
        self.next(self.end)

    @step
    def end(self):
        self.where = self.where + [os.environ["WHERE"]]
'''


def test_custom_decorators_match_metaflow(compare_flow):
    result = compare_flow(WRAPPERS)
    result.assert_same()
    summary = result.flowassets.artifacts("end")[0]["summary"]
    assert summary == ["first@start", "gather", 2, "RuntimeError: renamed ValueError", True]


def test_mutators_match_metaflow(compare_flow):
    result = compare_flow(MUTATORS)
    result.assert_same()
    end = result.flowassets.artifacts("end")[0]
    assert end["where"] == ["start", "work", "1", "end"]  # the hand-written value was removed
    assert end["doubled"] == [3, 6]

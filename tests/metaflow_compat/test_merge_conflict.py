"""merge_artifacts with conflicting values: Metaflow fails the join, and so must we, naming
the join step and every conflicting artifact (and not the ones that agree)."""

from __future__ import annotations

import pytest

from .harness import Comparison

pytestmark = pytest.mark.xdist_group("compat_conflict")

SOURCE = '''
from metaflow import FlowSpec, step


class ConflictFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.alpha = 1
        self.beta = [1]
        self.agree = "same"
        self.next(self.join)

    @step
    def b(self):
        self.alpha = 2
        self.beta = [2]
        self.agree = "same"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.merge_artifacts(inputs)
        self.next(self.end)

    @step
    def end(self):
        pass
'''


@pytest.fixture(scope="module")
def result(compare_flow) -> Comparison:
    return compare_flow(SOURCE)


def test_both_fail_the_join_naming_the_conflicting_artifacts(result):
    mf, fa = result.metaflow, result.flowassets
    assert mf.returncode != 0 and "conflicting values" in mf.output
    assert "alpha" in mf.output and "beta" in mf.output
    assert fa.returncode != 0
    assert "Step 'join' failed" in fa.output and "ConflictFlow" in fa.output
    assert "merge_artifacts" in fa.output and "['alpha', 'beta']" in fa.output
    assert "'agree'" not in fa.output


def test_neither_runs_past_the_join(result):
    for run in (result.metaflow, result.flowassets):
        # Metaflow keeps the failed join task (unsuccessful); we record finished tasks only.
        assert "end" not in run.steps, run.system
        assert not any(t["ok"] for t in run.tasks("join")), run.system
        assert run.successful is False, run.system

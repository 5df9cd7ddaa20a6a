"""Custom step decorators and mutators (Metaflow 2.16+) in unchanged Metaflow files: the same
artifacts as ``python flow.py run`` under Metaflow 2.19, through the CLI and ``flow_to_job``;
a decorator that fails the step fails it in all three; what a mutator adds reaches the job.

Upstream's conformance test for this (test/core/tests/custom_decorators.py) is an empty file:
these side-by-side runs are the conformance check."""

from __future__ import annotations

import json

import pytest

from flowassets.authoring.loader import load_flow_class
from flowassets.errors import DecoratorError
from flowassets.graph.build import build_graph

from .harness import FLOWS, Case, ThreeWay, run_three_ways

pytestmark = pytest.mark.xdist_group("metaflow_files")

CASES = [
    Case("custom_decorators.py", "CustomDecoratorFlow"),
    Case("custom_decorator_raises.py", "RaisingDecoratorFlow"),
    Case("mutators.py", "MutatorFlow"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, ThreeWay]:
    return run_three_ways(CASES, tmp_path_factory.mktemp("custom_decorators"))


@pytest.mark.parametrize("flow", ["CustomDecoratorFlow", "MutatorFlow"])
def test_same_artifacts_as_metaflow(runs, flow):
    result = runs[flow]
    result.assert_same()
    assert result.metaflow.tasks("end") and len(result.cli.steps) == len(result.metaflow.steps)


def test_wrappers_ran_as_in_metaflow(runs):
    """What each decorator shape did, read from flowassets' run (equal to Metaflow's above)."""
    run = runs["CustomDecoratorFlow"].cli
    start = run.artifacts("start")[0]
    # Outer decorator's pre first, inner's post first; attributes reach the generator.
    assert start["trace"] == ["traced-pre", "labelled-pre:first", "body", "labelled-post",
                              "traced-post"]
    assert start["label"] == "first@start"
    fan = run.artifacts("fan")[0]
    assert fan["did_skip"] is True and fan["items"] == ["p", "q"]  # skipped, still fanned out
    each = run.artifacts("each")
    assert [t["item"] for t in each] == ["pp", "qq"]
    assert all(t["swallowed"] == "ZeroDivisionError: division by zero" and "ratio" not in t
               for t in each)
    gather = run.artifacts("gather")[0]
    assert gather["replaced_in"] == "gather" and gather["input_count"] == 2
    assert gather["doubled"] == ["pp", "qq"]
    assert run.artifacts("renamed")[0]["seen_error"] == "RuntimeError: renamed ValueError"
    assert run.artifacts("end")[0]["summary"] == [
        "first@start", "gather", 2, "RuntimeError: renamed ValueError", True]


def test_a_raising_post_step_fails_the_step_in_all_three(runs):
    result = runs["RaisingDecoratorFlow"]
    for run in (result.metaflow, result.cli, result.job):
        assert run.returncode != 0, run.output[-2000:]
        assert "value 5 is too large for step grow" in run.output, run.output[-3000:]
        assert [t["value"] for t in run.artifacts("start")] == [1]
        assert not run.tasks("end")
    assert result.cli.artifacts("start") == result.metaflow.artifacts("start")


def test_what_mutators_add_reaches_the_steps(runs):
    run = runs["MutatorFlow"].cli
    end = run.artifacts("end")[0]
    # @environment removed by the FlowMutator; @retry (2 times) let the step succeed on its
    # second attempt; @environment and the custom decorator's attributes came from
    # Flaky(times=cfg.times), and the label from @labelled(label=cfg.label): Config values.
    assert end["result"] == [None, 1, "Flaky", 20, "from-config@end"]
    assert end["visits"] == ["start", "work", "end"]  # the base class's bare FlowMutator


def test_mutator_decorators_reach_the_job(tmp_path):
    """@retry and @resources added by a StepMutator are in the graph the ops run from (naming
    the mutator; the three-way runs above show the retry happening), and a @kubernetes one
    becomes the op's dagster-k8s config."""
    from flowassets import flow_to_job
    from flowassets.compute.kubernetes import K8S_CONFIG_TAG

    cls = load_flow_class(str(FLOWS / "mutators.py"))
    node = build_graph(cls)["work"]
    retry = node.decorator("retry")
    assert dict(retry.args) == {"times": 2, "minutes_between_retries": 0}
    assert retry.inserted_by and retry.inserted_by.endswith("Flaky")
    assert dict(node.decorator("resources").args) == {"cpu": 2, "memory": 1024}
    assert build_graph(cls)["start"].decorator("environment") is None
    flow = tmp_path / "to_k8s.py"
    flow.write_text(
        "from metaflow import FlowSpec, StepMutator, kubernetes, step\n\n"
        "class OnKubernetes(StepMutator):\n"
        "    def mutate(self, mutable_step):\n"
        "        mutable_step.add_decorator(kubernetes, deco_kwargs={'cpu': 3, 'memory': 2048})\n\n"
        "class ToK8sFlow(FlowSpec):\n"
        "    @OnKubernetes\n    @step\n    def start(self):\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n")
    job = flow_to_job(load_flow_class(str(flow)))
    config = json.loads(job.graph.node_named("start").definition.tags[K8S_CONFIG_TAG])
    requests = config["container_config"]["resources"]["requests"]
    assert float(requests["cpu"]) == 3 and requests["memory"] == "2048M"
    assert K8S_CONFIG_TAG not in job.graph.node_named("end").definition.tags


def test_a_decorator_flowassets_does_not_know_is_refused_naming_the_mutator(tmp_path):
    flow = tmp_path / "unknown_deco.py"
    flow.write_text(
        "from metaflow import FlowSpec, StepMutator, step\n\n"
        "class AddAirflow(StepMutator):\n"
        "    def mutate(self, mutable_step):\n"
        "        mutable_step.add_decorator('airflow_internal')\n\n"
        "class UnknownDecoFlow(FlowSpec):\n"
        "    @AddAirflow\n    @step\n    def start(self):\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n")
    with pytest.raises(DecoratorError) as err:
        build_graph(load_flow_class(str(flow)))
    assert err.value.codes == ("decorator-unknown",)
    text = str(err.value)
    assert "flow UnknownDecoFlow, step 'start'" in text and "@airflow_internal" in text
    assert "added by the mutator" in text and "AddAirflow" in text and "Fix: use one of" in text

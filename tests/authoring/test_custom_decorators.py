"""flowassets' own custom step decorators and mutators: what they record, what the graph reads
after them, what is refused when the job is built (naming flow, step and decorator), and the
run-time cases Metaflow's examples do not cover (compared with Metaflow in
tests/metaflow_compat/test_custom_decorators.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

from flowassets import FlowassetsError, UserStepDecorator, flow_to_job, step, user_step_decorator
from flowassets.client import Flow
from flowassets.authoring.mutators import apply_mutators
from flowassets.errors import DecoratorError
from flowassets.graph.build import build_graph
from tests.conftest import load_flow

FLOWS = Path(__file__).resolve().parent / "flows_custom_decorators.py"


def _graph(name: str):
    return build_graph(load_flow(FLOWS, name))


def _refusal(name: str) -> DecoratorError:
    with pytest.raises(DecoratorError) as err:
        _graph(name)
    return err.value


def _run(name: str):
    result = flow_to_job(load_flow(FLOWS, name)).execute_in_process(
        instance=dg.DagsterInstance.get(), raise_on_error=False)
    return result, Flow(name)[result.run_id]


def test_a_bare_decorator_leaves_the_step_function_in_the_class():
    @user_step_decorator
    def noop(step_name, flow, inputs):
        yield

    class Deco(UserStepDecorator):
        pass

    def body(self):
        pass

    decorated = noop(Deco(step(body)))
    assert decorated is body
    assert [type(w).__name__ for w in body._flowassets_wrappers] == ["Deco", "noop"]


def test_mutators_run_once_per_class_and_what_they_add_is_in_the_graph():
    cls = load_flow(FLOWS, "OnceFlow")
    retry = build_graph(cls)["start"].decorator("retry")
    assert dict(retry.args) == {"times": 1, "minutes_between_retries": 0}
    assert retry.inserted_by.endswith("Counted")
    apply_mutators(cls)  # again, as another build of the class would: nothing runs twice
    assert sys.modules[cls.__module__].Counted.calls == 1
    assert len(cls.start._flowassets_decorators) == 1


def test_decorator_specs_remove_and_duplicates():
    cls = load_flow(FLOWS, "RewriteFlow")
    node = build_graph(cls)["start"]
    assert sys.modules[cls.__module__].Rewrite.seen == ["Rewrite", "catch"]
    assert node.decorator("catch") is None
    # OVERRIDE replaced the first @environment; the third (IGNORE, the default) was dropped.
    assert [dict(d.args) for d in node.decorators] == [{"vars": {"A": "2"}}]


def test_a_failing_mutator_is_refused_naming_flow_step_and_mutator():
    err = _refusal("BrokenMutatorFlow")
    assert err.codes == ("custom-decorator-failed",)
    text = str(err)
    assert "flow BrokenMutatorFlow, step 'start'" in text
    assert "Broken raised KeyError" in text and "no such setting" in text


def test_adding_a_mutator_in_mutate_is_refused_as_in_metaflow():
    text = str(_refusal("LateMutatorFlow"))
    assert "flow LateMutatorFlow, step 'start'" in text and "only in pre_mutate" in text


def test_an_unknown_decorator_added_by_a_mutator_is_refused_naming_the_mutator():
    err = _refusal("UnknownDecoratorFlow")
    assert err.codes == ("decorator-unknown",)
    text = str(err)
    assert "@nvidia" in text and "added by the mutator" in text and "AddsUnknown" in text
    assert "step 'start'" in text and "user_step_decorator" in text


def test_a_duplicate_with_error_policy_is_refused():
    text = str(_refusal("DuplicateErrorFlow"))
    assert "step 'start'" in text and "@retry is already on the step" in text


def test_arguments_without_init_are_refused_at_build_time():
    text = str(_refusal("ArgumentsWithoutInitFlow"))
    assert "step 'start'" in text and "does not define init()" in text


def test_a_flow_mutator_adds_a_parameter_and_a_schedule():
    graph = _graph("FlowMutatorFlow")
    assert [(p.name, p.default) for p in graph.parameters] == [("alpha", 1), ("beta", 7)]
    assert [(d.name, dict(d.args)) for d in graph.flow_decorators] == [
        ("schedule", {"cron": "0 * * * *"})]
    result, run = _run("FlowMutatorFlow")
    assert result.success and run["start"].task["total"].data == 8


def test_adding_a_parameter_in_mutate_is_refused():
    text = str(_refusal("ParameterTooLateFlow"))
    assert "add_parameter is allowed only in a FlowMutator's pre_mutate" in text


def test_generator_rules_are_checked_when_the_decorator_is_defined():
    with pytest.raises(FlowassetsError, match="generator functions"):
        user_step_decorator(lambda step_name, flow, inputs: None)
    with pytest.raises(FlowassetsError, match=r"\(step_name, flow, inputs\)"):
        @user_step_decorator
        def two(step_name, flow):
            yield
    with pytest.raises(FlowassetsError, match="keyword arguments only"):
        class Deco(UserStepDecorator):
            pass
        Deco("positional")


def test_a_generator_that_yields_twice_fails_the_step():
    result, _ = _run("YieldTwiceFlow")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "should yield only once" in failure.event_specific_data.error.message


def test_catch_sees_the_exception_a_decorator_raised():
    result, run = _run("CatchAroundDecoratorFlow")
    assert result.success
    task = run["start"].task
    assert task["ran"].data is True and "refused start" in str(task["failure"].data)


def test_skip_step_with_next_arguments_fans_out():
    result, run = _run("SkipWithArgumentsFlow")
    assert result.success
    assert run["join"].task["uppers"].data == ["A", "B", "C"]


def test_a_flowassets_mutator_on_a_metaflow_flow_is_refused(tmp_path):
    flow = tmp_path / "mixed.py"
    flow.write_text(
        "from metaflow import FlowSpec, step\n"
        "from flowassets import StepMutator, retry\n\n"
        "class AddRetry(StepMutator):\n"
        "    def mutate(self, mutable_step):\n"
        "        mutable_step.add_decorator(retry)\n\n"
        "class MixedFlow(FlowSpec):\n"
        "    @AddRetry\n    @step\n    def start(self):\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n")
    with pytest.raises(DecoratorError) as err:
        build_graph(load_flow(flow))
    assert err.value.codes == ("custom-decorator-mixed",)
    assert "flow MixedFlow" in str(err.value) and "from metaflow" in str(err.value)


def test_an_own_mutator_reading_a_config_is_refused_and_config_expr_arguments_resolve():
    text = str(_refusal("MutatorReadsConfigFlow"))
    assert "flow MutatorReadsConfigFlow" in text and "cannot read Config values" in text
    assert "config_expr" in text
    node = _graph("ConfigExprFromMutatorFlow")["start"]
    assert node.decorator("resources").args["cpu"] == 3
    cls = load_flow(FLOWS, "ConfigExprFromMutatorFlow")
    assert build_graph(cls, {"cfg": {"cpu": 5}})["start"].decorator("resources").args["cpu"] == 5

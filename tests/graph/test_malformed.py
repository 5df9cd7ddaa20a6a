"""Malformed flows: the flow file imports, ``flow_to_job`` refuses it with a ``FlowassetsError``
naming the flow, the step and its line, with every problem found; nothing is built.

Metaflow's own linter (metaflow 2.19's lint.py) is the reference: every flow it refuses, we
refuse too (checked in-process on a copy of the module that imports from ``metaflow``), and some
it lets through to fail at run time (a foreach/condition artifact no step sets, bad Parameters)
we refuse at build time."""

from __future__ import annotations

import ast
import importlib.util
import inspect
from pathlib import Path

import pytest

from flowassets import FlowassetsError, FlowSpec
from flowassets.errors import DecoratorError, FlowDefinitionError, GraphError
from flowassets.translate.job import flow_to_job
from tests.graph import flows_bad_decorators as deco
from tests.graph import flows_malformed as bad

#: flow -> (problem code that must be among those reported, step the message names or None)
GRAPH_CASES = {
    bad.NoStart: ("missing-start", None),
    bad.NoEnd: ("missing-end", None),
    bad.EndWithNext: ("end-has-next", "end"),
    bad.MissingNext: ("missing-next", "start"),
    bad.Unreachable: ("unreachable-step", "orphan"),
    bad.Cycle: ("cycle", "a"),
    bad.JoinWithoutInputs: ("join-without-inputs", "join"),
    bad.InputsOnNonJoin: ("inputs-on-non-join", "middle"),
    bad.WrongJoin: ("split-joined-twice", "start"),
    bad.ForeachJoinAlsoJoinsSplit: ("join-mixes-foreach", "join"),
    bad.NextToNonStep: ("unknown-next-target", "start"),
    bad.ForeachVarNeverSet: ("foreach-var-never-set", "start"),
    bad.TwoNextCalls: ("multiple-next", "start"),
    bad.ReservedStepName: ("reserved-step-name", "input"),
    bad.NextNotLast: ("next-not-last", "start"),
    bad.NextArgumentNotAStep: ("bad-next-target", "start"),
    bad.UnknownNextKeyword: ("bad-next-argument", "start"),
    bad.SwitchWithOneCase: ("switch-too-few-cases", "start"),
    bad.SwitchWithoutCondition: ("dict-without-condition", "start"),
    bad.SwitchAndForeach: ("switch-with-foreach", "start"),
    bad.SwitchToJoin: ("switch-to-join", "a"),
    bad.ConditionNeverSet: ("condition-var-never-set", "start"),
    bad.ForeachStraightToJoin: ("foreach-straight-to-join", "body"),
    bad.JoinThatSplits: ("join-cannot-split", "join"),
    bad.SplitNeverJoined: ("unjoined-split", None),
    bad.StartTakesInputs: ("start-is-join", "start"),
    bad.ExtraStepArgument: ("bad-signature", "end"),
    bad.ParameterShadowsStep: ("parameter-shadows-step", None),
    bad.ParameterReservedName: ("parameter-reserved-name", None),
    bad.ParameterBadDefault: ("parameter-bad-default", None),
    bad.ParameterRequiredWithDefault: ("parameter-required-with-default", None),
}
DECORATOR_CASES = {
    deco.ResourcesMemoryLots: ("decorator-bad-value", "memory"),
    deco.NegativeCpu: ("decorator-bad-value", "cpu"),
    deco.UnknownQos: ("decorator-bad-value", "qos"),
    deco.LabelBreaksDns: ("decorator-bad-value", "labels"),
    deco.TolerationUnknownEffect: ("decorator-bad-value", "tolerations"),
    deco.UnknownDecoratorArgument: ("decorator-unknown-argument", "tims"),
    deco.NegativeRetry: ("decorator-bad-value", "times"),
    deco.ZeroTimeout: ("decorator-bad-value", "seconds"),
    deco.CatchBadVar: ("decorator-bad-value", "var"),
    deco.PypiRefused: ("decorator-unsupported", "@pypi"),
    deco.CondaRefused: ("decorator-unsupported", "@conda"),
}
#: Flows Metaflow's lint lets through (they fail later, at run time or CLI start, or never).
METAFLOW_ACCEPTS = {"ForeachVarNeverSet", "SwitchAndForeach", "ConditionNeverSet", "ParameterShadowsStep",
                    "ParameterReservedName", "ParameterBadDefault", "ParameterRequiredWithDefault"}


def _marked_lines(module) -> dict[str, int]:
    """class name -> the line marked ``# <- here`` in the module's source (a step's ``def``, or
    the ``self.next`` call itself where the problem is in the call)."""
    path = Path(inspect.getsourcefile(module))
    lines = path.read_text().splitlines()
    marked: dict[str, int] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            for number in range(node.lineno, node.end_lineno + 1):
                if "# <- here" in lines[number - 1]:
                    marked[node.name] = number
    return marked


def _refusal(flow: type) -> FlowDefinitionError:
    with pytest.raises(FlowassetsError) as caught:
        flow_to_job(flow)
    assert isinstance(caught.value, FlowDefinitionError)
    return caught.value


@pytest.mark.parametrize("flow", list(GRAPH_CASES), ids=lambda f: f.__name__)
def test_malformed_flow_is_refused_naming_flow_step_and_line(flow):
    code, step = GRAPH_CASES[flow]
    error = _refusal(flow)
    assert isinstance(error, GraphError)
    assert code in error.codes, error
    problem = next(p for p in error.problems if p.code == code)
    message = str(error)
    assert message.startswith(f"{flow.__name__} cannot be built")
    assert problem.flow == flow.__name__
    assert problem.file and problem.file.endswith("flows_malformed.py")
    if step is not None:
        assert problem.step == step and f"step {step!r}" in message
    line = _marked_lines(bad).get(flow.__name__)
    if line is not None:
        assert problem.line == line and f"flows_malformed.py:{line}" in message


@pytest.mark.parametrize("flow", list(DECORATOR_CASES), ids=lambda f: f.__name__)
def test_bad_decorator_value_is_refused_naming_flow_step_and_argument(flow):
    code, argument = DECORATOR_CASES[flow]
    error = _refusal(flow)
    assert isinstance(error, DecoratorError)
    assert code in error.codes, error
    problem = next(p for p in error.problems if p.code == code)
    assert problem.flow == flow.__name__ and problem.step == "start"
    assert argument in problem.message
    assert problem.line is not None and f"flows_bad_decorators.py:{problem.line}" in str(error)
    assert problem.line in range(_marked_lines(deco)[flow.__name__] - 2, _marked_lines(deco)[flow.__name__])


def test_every_problem_is_reported_not_just_the_first():
    error = _refusal(bad.JoinThatSplits)
    assert {"join-cannot-split", "unjoined-split"} <= set(error.codes)


def test_problems_carry_a_fix():
    fixes = [p.fix for flow in GRAPH_CASES for p in _refusal(flow).problems]
    assert sum(1 for f in fixes if f) >= 0.7 * len(fixes)


def test_at_least_twenty_five_distinct_malformed_flows():
    assert len({code for code, _ in GRAPH_CASES.values()}) >= 25


def test_the_flow_classes_of_the_modules_are_all_cases():
    """A new malformed flow added to a module without a case here would be untested."""
    for module, cases in ((bad, GRAPH_CASES), (deco, DECORATOR_CASES)):
        flows = {v for v in vars(module).values() if isinstance(v, type) and issubclass(v, FlowSpec)
                 and v.__module__ == module.__name__ and v is not getattr(module, "StartFlow", None)}
        assert flows == set(cases)


def _metaflow_copy(tmp_path: Path):
    source = Path(inspect.getsourcefile(bad)).read_text().replace("from flowassets import", "from metaflow import")
    path = tmp_path / "metaflow_malformed.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("metaflow_malformed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_flow_metaflows_lint_refuses_we_refuse_too(tmp_path):
    pytest.importorskip("metaflow")  # in the [dev] extra: this runs in the default suite
    from metaflow.lint import LintWarn, linter

    module = _metaflow_copy(tmp_path)
    verdicts = {}
    for flow in GRAPH_CASES:
        try:
            linter.run_checks(getattr(module, flow.__name__)._graph)
            verdicts[flow.__name__] = "accepted"
        except LintWarn:
            verdicts[flow.__name__] = "refused"
    assert {name for name, v in verdicts.items() if v == "accepted"} == METAFLOW_ACCEPTS
    for flow in GRAPH_CASES:  # and we refuse every one of them, including the ones Metaflow lets by
        _refusal(flow)


@pytest.mark.parametrize("command", ["run", "check"])
def test_cli_refuses_a_malformed_flow_before_any_run(command, tmp_path):
    """The file imports; the command exits non-zero with the problems and launches nothing."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", command, inspect.getsourcefile(bad), "--flow", "Cycle"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=os.environ.copy())
    assert done.returncode != 0
    assert "Cycle cannot be built" in done.stderr + done.stdout and "[cycle]" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 0

"""The conformance script on a fast subset of Metaflow's own graphs x tests: the count it prints
is asserted, and every upstream test not ported is listed with its reason."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("conformance")

SCRIPT = Path(__file__).resolve().parent / "run.py"

PASSING = [
    "basic_artifact:single-linear-step",  # artifacts flow down every step
    "nested_foreach:nested-foreach",  # 3-level foreach, joins innermost first
    "switch_basic:simple_switch",  # switch on an artifact, one branch runs
    "timeout_decorator:single-linear-step",  # @timeout taken by @catch, retries counted
    "resume_foreach_split:nested-foreach",  # fails, then `flowassets resume` from the failure
    "merge_artifacts:single-and-branch",  # run-unique task ids: branches conflict as in Metaflow
    "current_singleton:single-linear-step",  # current.run / current.task kept as artifacts
    "basic_config_parameters:single-linear-step",  # Config, config_expr in decorators, ctx.configs
    "dynamic_parameters:single-linear-step",  # callable defaults with a ParameterContext
    "basic_include:single-linear-step",  # IncludeFile: text, utf8, binary, env override, absent
    "basic_tags:single-linear-step",  # --tag values and @project reach current and the run
    "recursive_switch:recursive_switch",  # a switch looping back: passes inside the step's op
    "resume_recursive_switch_inside_foreach:recursive_switch_inside_foreach",  # resume mid-loop
    "basic_log:single-linear-step",  # a task's stdout and stderr read back apart
    "tag_mutation:single-linear-step",  # metaflow.Task(current.pathspec) in a step, Metaflow's Run
    "card_simple:single-linear-step",  # @card drawn by Metaflow's card class, read by `card get`
    "card_multiple:single-and-branch",  # two @card per step, told apart by hash
    "card_resume:single-linear-step",  # a resumed task's card is its origin task's
    "card_default_editable_with_id:single-and-branch",  # append vs current.card[id] rules
    "flow_options:small-foreach",  # an extension's flow decorator: flow_init with its option
    "card_import:single-linear-step",  # card types registered by the test extension package
    "basic_parallel:small-parallel",  # Metaflow's Step.control_tasks() finds node 0
    "extensions:single-linear-step",  # an extension's step decorator: task_post_step per task
]


def test_subset_count_and_reasons():
    from tests.conformance.run import NOT_PORTED

    args = [a for pair in PASSING for a in ("--only", pair)]
    proc = subprocess.run([sys.executable, str(SCRIPT), "--jobs", "3", *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    match = re.search(r"^(\d+) of (\d+) graph x test pairs pass", out, re.M)
    assert match, out
    assert (int(match.group(1)), int(match.group(2))) == (len(PASSING), len(PASSING)), out
    for pair in PASSING:
        assert f"PASS  {pair}" in out
    assert f"Not ported ({len(NOT_PORTED)} upstream tests):" in out, out
    for name, reason in NOT_PORTED.items():
        assert f"  {name}: {reason}" in out, name

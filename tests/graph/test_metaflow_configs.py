"""``prepare_metaflow_class``: Metaflow's own config and mutator machinery on an unchanged
Metaflow class, with the flow's defaults and with other values in the same process."""

import os

import pytest

from flowassets.authoring.loader import load_flow_class
from flowassets.graph.metaflow_configs import ConfigValueError, prepare_metaflow_class

FLOW = os.path.join(os.path.dirname(__file__), "flows_configs", "metaflow_mutator_flow.py")


def _decorators(cls):
    return {d.name: dict(d.attributes) for d in cls.start.decorators}


def test_defaults_resolve_config_expr_and_apply_the_step_mutator():
    cls = prepare_metaflow_class(load_flow_class(FLOW))
    assert cls._flowassets_config_values == {
        "cfg": {"cpu": 2, "project": "proj", "nested": {"a": 1}}}
    decos = _decorators(cls)
    assert decos["resources"]["cpu"] == 2  # config_expr("cfg.cpu")
    assert decos["environment"]["vars"] == {"ADDED": "hello"}  # added by the StepMutator
    from metaflow.flowspec import FlowStateItems

    project = cls._flow_state[FlowStateItems.FLOW_DECORATORS]["project"][0]
    assert project.attributes["name"] == "proj"


def test_other_values_get_their_own_class_and_the_first_is_kept():
    original = load_flow_class(FLOW)
    first = prepare_metaflow_class(original)
    other = prepare_metaflow_class(original, {"cfg": {"cpu": 5, "project": "other"}})
    assert other is not first
    assert _decorators(other)["resources"]["cpu"] == 5
    assert _decorators(first)["resources"]["cpu"] == 2
    # Same values: the same processed class (built once per process and values).
    assert prepare_metaflow_class(original, {"cfg": {"cpu": 5, "project": "other"}}) is other
    assert prepare_metaflow_class(other, first._flowassets_config_values) is first


def test_unknown_config_name_is_refused_naming_the_flow():
    with pytest.raises(ConfigValueError, match="flow MutFlow: no Config named"):
        prepare_metaflow_class(load_flow_class(FLOW), {"nope": {}})


def test_the_graph_reads_the_mutators_decorator_and_only_given_arguments():
    from flowassets.graph.build import build_graph

    node = build_graph(load_flow_class(FLOW))["start"]
    # Added by the StepMutator with deco_kwargs: read as given (Metaflow does not record them).
    assert dict(node.decorator("environment").args) == {"vars": {"ADDED": "hello"}}
    assert dict(node.decorator("resources").args) == {"cpu": 2}  # nothing filled in by init()


MUTATED = os.path.join(os.path.dirname(__file__), "flows_configs", "metaflow_flow_mutator.py")


def test_a_flow_mutator_reads_the_config_and_the_run_uses_the_given_value(tmp_path):
    """FlowMutator.pre_mutate sees the config's value (given or default) and adds @environment to
    every step; the run's tasks get it (a fresh process builds the class from the run's values)."""
    from flowassets.graph.build import build_graph
    from tests.cli.test_cli import flowassets, read_back

    cls = load_flow_class(MUTATED)
    default = build_graph(cls)
    assert {n.name: dict(n.decorator("environment").args) for n in default} == {
        "start": {"vars": {"STAGE": "dev"}}, "end": {"vars": {"STAGE": "dev"}}}
    prod = build_graph(cls, {"env": {"vars": {"STAGE": "prod"}}})
    assert dict(prod["end"].decorator("environment").args) == {"vars": {"STAGE": "prod"}}
    done = flowassets("run", MUTATED, "--config-value", "env", '{"vars": {"STAGE": "prod"}}',
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    assert read_back("import json; from flowassets.client import Flow; "
                     f"print(json.dumps(Flow('FlowMutatorFlow')['{run_id}'].data.stage))",
                     tmp_path) == "prod"

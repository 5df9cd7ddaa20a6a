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

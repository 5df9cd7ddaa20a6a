"""flowassets' own Config pieces, without running a flow: ConfigValue's immutability and
access, delayed expressions (``cfg.x``, ``config_expr``, ``**cfg``) and their resolution, and
a callable Parameter default that is never called when the class is defined."""

from __future__ import annotations

import pickle

import pytest

from flowassets import Config, ConfigValue, FlowSpec, Parameter, config_expr, environment, step
from flowassets.authoring.configs import bound_configs, resolve_lazy
from flowassets.graph.build import build_graph
from flowassets.graph.configs import ConfigError, resolve_config_values

SUFFIX = "!"  # a module global a config_expr may use


def test_config_value_reads_like_metaflows_and_refuses_changes():
    value = ConfigValue({"a": 1, "nested": {"b": [1, {"c": 2}]}})
    assert value.a == value["a"] == 1 and value.nested.b[1].c == 2
    assert isinstance(value.nested, ConfigValue) and value == {"a": 1, "nested": {"b": [1, {"c": 2}]}}
    for change in (lambda: setattr(value, "a", 2), lambda: value.__setitem__("a", 2),
                   lambda: value.update(a=2), lambda: value.pop("a"), lambda: delattr(value, "a")):
        with pytest.raises(TypeError, match="immutable"):
            change()
    plain = value.to_dict()
    plain["a"] = 5  # a plain copy: the artifact the run stores
    assert value.a == 1 and type(plain["nested"]) is dict
    assert pickle.loads(pickle.dumps(value)) == value
    with pytest.raises(AttributeError):
        value.missing


def test_delayed_expressions_resolve_against_config_values():
    cfg = Config("train")
    configs = bound_configs({"train": {"cpu": 2, "env": {"vars": {"A": "1"}}, "name": "m"}}, {})
    assert resolve_lazy(cfg.cpu, configs) == 2
    assert resolve_lazy(cfg["env"]["vars"], configs) == {"A": "1"}
    assert resolve_lazy(config_expr("train.name.upper() + SUFFIX"), configs) == "M!"
    assert resolve_lazy({"vars": {"n": config_expr("str(train.cpu)")}}, configs) == {"vars": {"n": "2"}}
    unpacked = dict(**cfg.env)  # what `@environment(**cfg.env)` receives
    assert resolve_lazy(unpacked, configs) == {"vars": {"A": "1"}}
    assert resolve_lazy(cfg, configs) == {"cpu": 2, "env": {"vars": {"A": "1"}}, "name": "m"}


def test_callable_default_is_not_called_when_the_class_is_defined():
    calls = []

    def default(ctx):
        calls.append(ctx)
        return "x"

    param = Parameter("p", default=default)
    assert calls == [] and param.type is str  # Metaflow's rule: str unless a type is given
    assert Parameter("q", default=default, type=int).type is int


class _Flow(FlowSpec):
    cfg = Config("settings", default_value={"greeting": "hi", "times": 2})
    times = Parameter("times", default=cfg.times)

    @environment(vars={"GREETING": cfg.greeting})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


def test_graph_resolves_decorators_and_defaults_with_the_given_values():
    graph = build_graph(_Flow)
    assert graph.config_values() == {"settings": {"greeting": "hi", "times": 2}}
    assert dict(graph["start"].decorator("environment").args) == {"vars": {"GREETING": "hi"}}
    param = graph.parameters[0]
    assert (param.default, param.type_name) == (2, "int")  # the type follows the resolved value
    other = build_graph(_Flow, {"settings": {"greeting": "yo", "times": 5}})
    assert dict(other["start"].decorator("environment").args) == {"vars": {"GREETING": "yo"}}
    assert other.parameters[0].default == 5 and build_graph(_Flow) is graph  # cached per values


def test_required_config_without_value_is_refused_naming_flow_and_config():
    class NeedsConfig(FlowSpec):
        cfg = Config("needed", required=True)

    with pytest.raises(ConfigError, match="flow NeedsConfig: Config 'needed' is required"):
        resolve_config_values(NeedsConfig)
    assert resolve_config_values(NeedsConfig, texts={"needed": '{"a": 1}'}) == {"needed": {"a": 1}}
    with pytest.raises(ConfigError, match="must be a mapping"):
        resolve_config_values(NeedsConfig, texts={"needed": "[1, 2]"})

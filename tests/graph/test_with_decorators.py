"""``graph.build`` adds ``--with`` decorators to every step as Metaflow 2.19's
``_attach_decorators_to_step`` does, before the decorator checks, for our flows and Metaflow's."""

from __future__ import annotations

import pytest

from flowassets import FlowSpec, card, retry, step
from flowassets.errors import DecoratorError
from flowassets.graph.build import build_graph


class OwnDecorators(FlowSpec):
    @retry(times=0)
    @card(type="blank")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


def decorators(graph, step):
    return [(s.name, dict(s.args), s.added_with) for s in graph[step].decorators]


def test_a_step_keeps_its_own_decorator_and_card_may_repeat():
    graph = build_graph(OwnDecorators, with_decorators=["retry:times=3", "card", "catch:var=e"])
    assert decorators(graph, "start") == [
        ("card", {"type": "blank"}, None), ("retry", {"times": 0}, None),
        ("card", {}, "card"), ("catch", {"var": "e"}, "catch:var=e")]
    assert decorators(graph, "end") == [
        ("retry", {"times": 3}, "retry:times=3"), ("card", {}, "card"),
        ("catch", {"var": "e"}, "catch:var=e")]
    assert [s.name for s in graph.with_decorators] == ["retry", "card", "catch"]
    # Without --with the graph is the flow's own (and not a cached graph with them).
    assert decorators(build_graph(OwnDecorators), "end") == []


def test_bad_values_are_refused_naming_flow_step_decorator_parameter_and_with():
    with pytest.raises(DecoratorError) as caught:
        build_graph(OwnDecorators, with_decorators=["timeout:minutes=-1", "retry:times=lots"])
    problems = caught.value.problems
    # start keeps its own @retry, so only end's added one is wrong; both get the @timeout.
    assert sorted((p.step, p.message.split(":")[0]) for p in problems) == [
        ("end", "@retry(times='lots')"), ("end", "@timeout(minutes=-1)"),
        ("start", "@timeout(minutes=-1)")]
    assert all(p.flow == "OwnDecorators" and "(added to every step by --with" in p.message
               for p in problems)


def test_refused_decorators_keep_their_message():
    with pytest.raises(DecoratorError) as caught:
        build_graph(OwnDecorators, with_decorators=["conda"])
    assert {p.code for p in caught.value.problems} == {"decorator-unsupported"}
    assert all(p.message.startswith("@conda is not supported: flowassets does not build")
               for p in caught.value.problems)


def test_catch_on_a_foreach_split_is_refused_from_with_too():
    class Fanout(FlowSpec):
        @step
        def start(self):
            self.items = [1]
            self.next(self.body, foreach="items")

        @step
        def body(self):
            self.next(self.join)

        @step
        def join(self, inputs):
            self.next(self.end)

        @step
        def end(self):
            pass

    with pytest.raises(DecoratorError, match=r"decorator-catch-on-foreach.*step 'start'.*--with catch"):
        build_graph(Fanout, with_decorators=["catch"])


def test_a_metaflow_class_gets_them_too(tmp_path):
    path = tmp_path / "mf_flow.py"
    path.write_text(
        "from metaflow import FlowSpec, retry, step\n\n"
        "class MfWith(FlowSpec):\n"
        "    @retry(times=1)\n    @step\n    def start(self):\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n")
    from flowassets.authoring.loader import load_flow_class

    graph = build_graph(load_flow_class(str(path), "MfWith"), with_decorators=["retry:times=4"])
    assert [dict(s.args) for s in graph["start"].decorators if s.name == "retry"] == [{"times": 1}]
    assert [dict(s.args) for s in graph["end"].decorators if s.name == "retry"] == [{"times": 4}]


def test_the_first_of_two_with_options_for_one_decorator_wins():
    """As Metaflow attaches them one after the other: the second finds the step has one."""
    graph = build_graph(OwnDecorators, with_decorators=["timeout:seconds=5", "timeout:seconds=9",
                                                        "card:id=a", "card:id=b"])
    assert [(s.name, dict(s.args)) for s in graph["end"].decorators] == [
        ("timeout", {"seconds": 5}), ("card", {"id": "a"}), ("card", {"id": "b"})]

"""``--with`` texts read as Metaflow 2.19 reads them (compared with Metaflow's own parser on the
same texts), and names flowassets has no step decorator for refused with the list it has."""

from __future__ import annotations

import pytest

from flowassets.authoring.decospecs import decospec_text, parse_decospec, parse_decospecs
from flowassets.authoring.decorators import DecoratorSpec
from flowassets.errors import DecoratorSpecError, FlowassetsError

SAME_AS_METAFLOW = [
    "retry",
    "retry:times=2,minutes_between_retries=0",
    "catch:var=err,print_exception=false",
    "timeout:seconds=1.5",
    'environment:vars={"A": "1", "B": 2}',
    "kubernetes:cpu=0.5,memory=300,image=registry.io/img:1.2",
    "kubernetes:node_selector=a=b,c=d",  # Metaflow splits before `c=`: c is then unknown
    "resources:cpu=2, memory=8000",
    'card:type=blank,options={"k": [1, 2]}',
    "secrets:sources=[\"a\", \"b\"]",
]


@pytest.mark.parametrize("text", SAME_AS_METAFLOW)
def test_arguments_are_read_as_metaflow_reads_them(text):
    from metaflow.decorators import StepDecorator

    name, _, rest = text.partition(":")
    _, expected = StepDecorator.extract_args_kwargs_from_decorator_spec(rest)
    spec = parse_decospec(text)
    assert (spec.name, dict(spec.args)) == (name, expected)
    assert spec.added_with == text


def test_python_literals_metaflow_keeps_as_text_are_values_here():
    # As `--with kubernetes` read them before: True, single-quoted dicts and strings.
    spec = parse_decospec("kubernetes:use_tmpfs=True,labels={'team': 'ml'},image='u:1'")
    assert dict(spec.args) == {"use_tmpfs": True, "labels": {"team": "ml"}, "image": "u:1"}


def test_unknown_names_and_flow_decorators_are_refused_listing_the_step_decorators():
    with pytest.raises(DecoratorSpecError) as caught:
        parse_decospec("retyr:times=2", "MyFlow")
    message = str(caught.value)
    assert message.startswith("flow MyFlow: --with retyr:times=2: 'retyr' is not a step decorator")
    assert "resources, kubernetes, batch, retry, timeout, catch, environment, secrets, parallel, card" in message
    assert "pypi" not in message  # known, but refused when the job is built
    with pytest.raises(FlowassetsError, match="'schedule' is a flow decorator"):
        parse_decospec("schedule:cron=1 2 3 4 5")
    with pytest.raises(DecoratorSpecError, match=r"'cpu' is not name=value"):
        parse_decospec("kubernetes:cpu")
    with pytest.raises(DecoratorSpecError, match="takes text"):
        parse_decospec({"retry": {}})  # type: ignore[arg-type]


def test_many_and_round_trip():
    given = parse_decospecs(["retry", DecoratorSpec("card", {"type": "blank"})], "F")
    assert [s.name for s in given] == ["retry", "card"]
    assert parse_decospecs("catch", "F")[0].name == "catch"
    assert parse_decospecs(None) == ()
    spec = DecoratorSpec("kubernetes", {"cpu": 2, "labels": {"a": "b"}, "use_tmpfs": True})
    again = parse_decospec(decospec_text(spec))
    assert dict(again.args) == dict(spec.args)

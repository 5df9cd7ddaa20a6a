"""Bad @kubernetes/@resources values: the flow file imports, ``flow_to_job`` refuses each value
with a ``FlowassetsError`` naming the flow, the step and the parameter, and nothing is built."""

from __future__ import annotations

import pytest

from flowassets import FlowassetsError
from flowassets.translate.job import flow_to_job
from tests.compute.flows_bad import CASES


@pytest.mark.parametrize(("flow", "parameter"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_bad_value_is_refused_at_build_time(flow, parameter):
    with pytest.raises(FlowassetsError) as caught:
        flow_to_job(flow)
    message = str(caught.value)
    assert flow.__name__ in message
    assert "'train'" in message or "train" in message
    assert parameter in message


def test_at_least_twenty_distinct_bad_values():
    assert len({(flow.__name__, parameter) for flow, parameter in CASES}) >= 20


@pytest.mark.parametrize(("section", "raw", "needle"), [
    ("container_config", {"resourcez": {"limits": {"cpu": "1"}}}, "resourcez"),
    ("pod_spec_config", {"node_selector": "disk=ssd"}, "disk=ssd"),
    ("container_config", {"security_context": {"run_as_non_root": "no"}}, "no"),
])
def test_raw_override_typo_is_caught_at_translation(section, raw, needle):
    """A typo in a translator's own dagster-k8s/config would only fail at pod start in Dagster."""
    from flowassets.translate.translator import FlowTranslator
    from tests.compute.flows_seed import DefaultsFlow

    class RawOverride(FlowTranslator):
        def get_k8s_config(self, graph, node):
            config = super().get_k8s_config(graph, node)
            if config is None:
                return None
            return {**config, section: {**config.get(section, {}), **raw}}

    flow_to_job(DefaultsFlow)  # the same flow without the override builds
    with pytest.raises(FlowassetsError, match="DefaultsFlow") as caught:
        flow_to_job(DefaultsFlow, translator=RawOverride())
    assert needle in str(caught.value) and section in str(caught.value)

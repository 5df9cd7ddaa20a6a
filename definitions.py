"""The example flows as one Dagster Definitions (loaded by workspace.yaml / `dagster dev`)."""

from examples.hello_flow import HelloFlow
from examples.merge_flow import MergeFlow
from examples.nested_foreach_flow import NestedForeachFlow
from examples.switch_flow import SwitchFlow
from flowassets import build_definitions

defs = build_definitions([HelloFlow, MergeFlow, NestedForeachFlow, SwitchFlow])

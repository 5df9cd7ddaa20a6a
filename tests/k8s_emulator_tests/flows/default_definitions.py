"""Definitions as a deployment writes them, with no executor chosen: the default ("auto") sends
Kubernetes steps and their tasks to pods on an instance with a K8sRunLauncher, and runs
everything in-process on any other instance."""

from pathlib import Path

from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class

HERE = Path(__file__).parent
defs = build_definitions([load_flow_class(str(HERE / "nested_pods_flow.py"), "NestedPodsFlow")])

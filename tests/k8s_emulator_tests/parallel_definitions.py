"""What a Dagster deployment would load for tests/k8s_emulator_tests/test_parallel_k8s.py:
ParallelK8sFlow on flowassets' hybrid executor (its @kubernetes step via dagster-k8s)."""

from pathlib import Path

from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class
from flowassets.compute.executors import flowassets_hybrid_executor
from flowassets.translate.translator import FlowTranslator

FLOW_FILE = Path(__file__).resolve().parents[1] / "runtime" / "flows" / "parallel_flow.py"


class HybridTranslator(FlowTranslator):
    def get_executor(self, graph):
        return flowassets_hybrid_executor


defs = build_definitions([load_flow_class(str(FLOW_FILE), "ParallelK8sFlow")], translator=HybridTranslator())

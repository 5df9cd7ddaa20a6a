"""What a Dagster deployment would load for tests/k8s_emulator_tests/test_parallel_k8s.py:
ParallelK8sFlow with the default translator (its @kubernetes @parallel step makes the job's
executor "auto": the hybrid executor on this K8sRunLauncher instance)."""

from pathlib import Path

from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class

FLOW_FILE = Path(__file__).resolve().parents[1] / "runtime" / "flows" / "parallel_flow.py"

defs = build_definitions([load_flow_class(str(FLOW_FILE), "ParallelK8sFlow")])

"""What a Dagster deployment would load: the flows as jobs on the hybrid executor."""

from pathlib import Path

from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class
from flowassets.translate.translator import FlowTranslator, FlowTranslatorSettings

HERE = Path(__file__).parent
FLOWS = [load_flow_class(str(HERE / "hybrid_flow.py"), "HybridFlow"),
         load_flow_class(str(HERE / "faults_flow.py"), "SlowFlow")]

defs = build_definitions(FLOWS, translator=FlowTranslator(FlowTranslatorSettings(executor="hybrid")))

"""The example flows as one Dagster Definitions (loaded by workspace.yaml / `dagster dev`).

Flows are loaded by file path, so this works from any working directory
(`dagster job execute -f definitions.py -j HelloFlow`).
"""

from pathlib import Path

from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class

EXAMPLES = Path(__file__).resolve().parent / "examples"
FLOW_FILES = ["hello_flow.py", "merge_flow.py", "nested_foreach_flow.py", "switch_flow.py"]

defs = build_definitions([load_flow_class(str(EXAMPLES / name)) for name in FLOW_FILES])

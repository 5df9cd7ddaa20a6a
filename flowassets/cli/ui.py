"""Definitions for ``dagster dev -m flowassets.cli.ui``: every flow in the files listed in
FLOWASSETS_FLOW_FILES (separated by ``os.pathsep``), so the command ``flowassets run`` prints
shows a flow and its runs in the Dagster UI without writing a definitions file first."""

import os

from ..errors import FlowassetsError
from ..translate.job import build_definitions
from ..authoring.loader import flow_classes, import_file

ENV = "FLOWASSETS_FLOW_FILES"


def definitions_for_files(paths: list[str]):
    flows = [cls for path in paths for cls in flow_classes(import_file(path))]
    if not flows:
        raise FlowassetsError(f"{ENV}={os.pathsep.join(paths)!r}: no FlowSpec classes found.")
    return build_definitions(flows)


_paths = [p for p in os.environ.get(ENV, "").split(os.pathsep) if p]
if not _paths:
    raise FlowassetsError(f"set {ENV} to the flow file(s) to show, e.g. "
                          f"{ENV}=flows/my_flow.py dagster dev -m flowassets.cli.ui")
defs = definitions_for_files(_paths)

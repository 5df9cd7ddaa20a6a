"""Rebuild a flow's job from its file in any process (run workers, re-execution, the UI).

The CLI launches runs of a ``ReconstructableJob`` pointing here, so Dagster can load the same
job again wherever it needs to, and re-execute a run from failure.
"""

from __future__ import annotations

import functools
import json

import dagster as dg

from ..authoring.loader import load_flow_class


# Dagster loads the job again to execute a run the CLI just created from it; the flow module is
# cached by path already, so translate it once per process too.
@functools.lru_cache(maxsize=16)
def job_from_file(path: str, flow_name: str, options_json: str = "{}") -> dg.JobDefinition:
    from ..translate.job import flow_to_job
    from ..translate.translator import FlowTranslator, FlowTranslatorSettings

    options = json.loads(options_json)
    cls = load_flow_class(path, flow_name)
    return flow_to_job(cls, FlowTranslator(FlowTranslatorSettings(**options)))


def reconstructable_job(path: str, flow_name: str, options: dict | None = None) -> dg.ReconstructableJob:
    import os

    return dg.build_reconstructable_job(
        "flowassets.cli.reconstruct", "job_from_file",
        reconstructable_args=(os.path.abspath(path), flow_name, json.dumps(options or {}, sort_keys=True)),
        reconstructor_working_directory=os.getcwd(),
    )

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


@functools.lru_cache(maxsize=16)
def asset_job_from_file(path: str, flow_name: str, options_json: str = "{}",
                        artifacts_json: str = "null") -> dg.JobDefinition:
    """The asset job of the flow as ``flow_to_assets(cls, artifacts)`` (``null``: every
    artifact), resolved in a Definitions exactly as ``build_definitions(assets=[...])`` builds
    it for the UI, so a CLI run records the same materializations as a run from the UI."""
    from ..translate.assets import flow_asset_job_name, flow_to_assets
    from ..translate.job import build_definitions
    from ..translate.translator import FlowTranslator, FlowTranslatorSettings

    translator = FlowTranslator(FlowTranslatorSettings(**json.loads(options_json)))
    assets_def = flow_to_assets(load_flow_class(path, flow_name), json.loads(artifacts_json), translator)
    defs = build_definitions([], translator, assets=[assets_def])
    return defs.resolve_job_def(flow_asset_job_name(assets_def))


def reconstructable_job(path: str, flow_name: str, options: dict | None = None,
                        asset_artifacts: list[str] | None = None,
                        as_assets: bool = False) -> dg.ReconstructableJob:
    """The flow's job, or (``as_assets``) its asset job materializing ``asset_artifacts``
    (None: every artifact), rebuildable from the file in any process."""
    import os

    args = (os.path.abspath(path), flow_name, json.dumps(options or {}, sort_keys=True))
    if as_assets:
        return dg.build_reconstructable_job(
            "flowassets.cli.reconstruct", "asset_job_from_file",
            reconstructable_args=(*args, json.dumps(asset_artifacts)),
            reconstructor_working_directory=os.getcwd(),
        )
    return dg.build_reconstructable_job(
        "flowassets.cli.reconstruct", "job_from_file",
        reconstructable_args=args, reconstructor_working_directory=os.getcwd(),
    )

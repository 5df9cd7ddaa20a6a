"""Artifacts as assets: catalog entries with lineage, materialized by the flow's run, read by
downstream user assets and by the client."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from flowassets import build_definitions, flow_to_assets
from flowassets.client import Flow
from flowassets.translate.assets import AssetDefinitionError
from tests.conftest import load_flow

FLOWS = Path(__file__).parent / "flows" / "asset_flows.py"
MODEL = dg.AssetKey(["TrainFlow", "model"])


def _report_asset():
    @dg.asset(ins={"model": dg.AssetIn(key=MODEL)})
    def report(model: dict) -> str:
        return f"best={model['best']}"

    return report


def test_flow_run_materializes_artifact_assets_a_user_asset_reads(isolated_store):
    train = flow_to_assets(load_flow(FLOWS, "TrainFlow"), artifacts=["features", "model", "summary"])
    report = _report_asset()
    defs = build_definitions([], assets=[train, report],
                             jobs=[dg.define_asset_job("report_job", selection=[report])])
    instance = dg.DagsterInstance.get()

    flow_run = defs.resolve_job_def("TrainFlow").execute_in_process(instance=instance)
    assert flow_run.success
    events = {key: instance.get_latest_materialization_event(dg.AssetKey(["TrainFlow", key]))
              for key in ("features", "model", "summary", "end")}
    assert all(e is not None and e.run_id == flow_run.run_id for e in events.values())
    model_meta = events["model"].asset_materialization.metadata
    assert model_meta["flowassets/step"].value == "pick"
    assert model_meta["flowassets/pathspec"].value.startswith(f"TrainFlow/{flow_run.run_id}/pick/")
    assert events["features"].step_key == "TrainFlow__assets.start"  # the op of the step that made it
    assert events["summary"].step_key == "TrainFlow__assets.end"

    # Lineage in the asset graph: features -> model -> summary -> (the flow's end), report downstream.
    graph = defs.resolve_asset_graph()
    assert graph.get(MODEL).parent_keys == {dg.AssetKey(["TrainFlow", "features"])}
    assert graph.get(dg.AssetKey(["TrainFlow", "summary"])).parent_keys == {MODEL}
    assert graph.get(dg.AssetKey("report")).parent_keys == {MODEL}

    downstream = defs.resolve_job_def("report_job").execute_in_process(instance=instance)
    assert downstream.output_for_node("report") == "best=6.0"  # sum(features) 6 * alpha 0.5 * scale 2
    # The same value through the Metaflow-style client.
    run = Flow("TrainFlow")[flow_run.run_id]
    assert run["pick"].task["model"].data == {"best": 6.0}
    assert run["end"].task.data.summary == "model 6.0"


def test_materializing_from_the_catalog_is_a_flow_run_the_client_finds(isolated_store):
    """No job: Dagster's own materialize (as the UI's Materialize button) still makes a run the
    client lists under the flow, and every artifact asset (None: all of them) is recorded."""
    from flowassets.translate.job import default_resources

    train = flow_to_assets(load_flow(FLOWS, "TrainFlow"), key_prefix=["ml", "train"])
    assert {k.path[-1] for k in train.keys} == {"features", "alphas", "model", "summary", "end"}
    instance = dg.DagsterInstance.get()
    result = dg.materialize([train], instance=instance, resources=default_resources())
    assert result.success
    event = instance.get_latest_materialization_event(dg.AssetKey(["ml", "train", "alphas"]))
    assert event.asset_materialization.metadata["flowassets/type"].value == "list"
    assert Flow("TrainFlow").latest_run.id == result.run_id


def test_named_artifact_the_step_did_not_set_fails_the_run_naming_it(isolated_store):
    assets = flow_to_assets(load_flow(FLOWS, "SometimesFlow"), artifacts=["maybe", "always"])
    from flowassets.translate.job import default_resources

    result = dg.materialize([assets], instance=dg.DagsterInstance.get(),
                            resources=default_resources(), raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    text = failure.event_specific_data.user_failure_data.description
    assert "SometimesFlow" in text and "'start'" in text and "'maybe'" in text


def test_unnamed_artifact_that_was_not_set_is_only_skipped(isolated_store):
    from flowassets.translate.job import default_resources

    assets = flow_to_assets(load_flow(FLOWS, "SometimesFlow"))
    instance = dg.DagsterInstance.get()
    assert dg.materialize([assets], instance=instance, resources=default_resources()).success
    assert instance.get_latest_materialization_event(dg.AssetKey(["SometimesFlow", "always"]))
    assert instance.get_latest_materialization_event(dg.AssetKey(["SometimesFlow", "maybe"])) is None


def test_explicit_step_and_parameter_artifacts():
    assets = flow_to_assets(load_flow(FLOWS, "TrainFlow"), artifacts={"model": "end", "scale": None})
    graph = build_definitions([], assets=[assets]).resolve_asset_graph()
    assert graph.get(dg.AssetKey(["TrainFlow", "model"])).parent_keys == {dg.AssetKey(["TrainFlow", "scale"])}


@pytest.mark.parametrize("artifacts, words", [
    (["score"], ["TrainFlow", "'score'", "many tasks", "join"]),
    (["nothing_sets_this"], ["TrainFlow", "'nothing_sets_this'", "no step assigns it"]),
    ({"model": "fit"}, ["TrainFlow", "'fit'", "'model'", "many tasks"]),
    ({"model": "nope"}, ["TrainFlow", "no step 'nope'"]),
    ("model", ["TrainFlow", "artifacts=['model']"]),
    (["not a name"], ["TrainFlow", "'not a name'"]),
])
def test_artifacts_that_cannot_be_assets_are_refused_at_build_time(artifacts, words):
    with pytest.raises(AssetDefinitionError) as info:
        flow_to_assets(load_flow(FLOWS, "TrainFlow"), artifacts=artifacts)
    for word in words:
        assert word in str(info.value)

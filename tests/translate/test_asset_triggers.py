"""@schedule and @trigger_on_finish on asset-backed flows (``flow_to_assets``): the Definitions
hold a schedule and a run-status sensor that target the flow's asset job, the schedule's tick
requests a run of it, and the sensor, over a finished run of the upstream flow, requests a run
that materializes the downstream flow's assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from flowassets import build_definitions, flow_to_assets
from tests.conftest import load_flow

FLOWS = Path(__file__).resolve().parent / "flows" / "triggered_asset_flows.py"


def _defs() -> dg.Definitions:
    return build_definitions([], assets=[flow_to_assets(load_flow(FLOWS, "DailyTableFlow")),
                                         flow_to_assets(load_flow(FLOWS, "TableReportFlow"))])


def _asset_keys(job: dg.JobDefinition) -> set[dg.AssetKey]:
    return set(job.asset_layer.executable_asset_keys)


def test_schedule_of_an_asset_backed_flow_targets_its_asset_job():
    defs = _defs()
    dg.Definitions.validate_loadable(defs)  # what the webserver and the daemon load
    schedule = defs.get_schedule_def("DailyTableFlow_schedule")
    assert schedule.cron_schedule == "15 4 * * *"
    assert schedule.execution_timezone == "Europe/Paris"
    assert schedule.job_name == "DailyTableFlow"
    job = defs.resolve_job_def(schedule.job_name)
    assert {dg.AssetKey(["DailyTableFlow", n]) for n in ("table", "total", "end")} <= _asset_keys(job)
    with dg.build_schedule_context(scheduled_execution_time=None) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1
    # The flow without @schedule gets none; the one without @trigger_on_finish no sensor.
    assert [s.name for s in defs.schedules] == ["DailyTableFlow_schedule"]
    assert [s.name for s in defs.sensors] == ["TableReportFlow_on_finish"]


def test_sensor_of_an_asset_backed_flow_requests_its_asset_job_after_the_upstream_run(isolated_store):
    defs = _defs()
    instance = dg.DagsterInstance.get()
    upstream = defs.resolve_job_def("DailyTableFlow").execute_in_process(instance=instance)
    assert upstream.success
    sensor = defs.get_sensor_def("TableReportFlow_on_finish")
    assert sensor.job_name == "TableReportFlow"
    success = next(e for e in upstream.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(upstream.run_id), dagster_event=success,
        repository_def=defs.get_repository_def())
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["flowassets/triggered_by"] == f"DailyTableFlow/{upstream.run_id}"

    # The requested run (what the daemon launches) materializes the downstream flow's assets.
    downstream = defs.resolve_job_def(sensor.job_name).execute_in_process(
        instance=instance, tags=request.tags)
    assert downstream.success
    event = instance.get_latest_materialization_event(dg.AssetKey(["TableReportFlow", "report"]))
    assert event is not None and event.run_id == downstream.run_id
    assert event.asset_materialization.metadata["flowassets/type"].value == "str"

    # A finished run of the downstream flow itself does not trigger it again.
    own = next(e for e in downstream.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(downstream.run_id), dagster_event=own,
        repository_def=defs.get_repository_def())
    assert isinstance(sensor(context), dg.SkipReason)

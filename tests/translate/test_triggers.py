"""@schedule -> ScheduleDefinition, @trigger_on_finish -> run-status sensor, @project -> name."""

from __future__ import annotations

import dagster as dg

from flowassets import build_definitions
from tests.conftest import load_flow


def _defs():
    return build_definitions([load_flow("triggered_flows.py", n)
                              for n in ("NightlyFlow", "ReportFlow", "HourlyFlow")])


def test_schedules_in_definitions_with_cron_and_timezone():
    defs = _defs()
    nightly = defs.get_schedule_def("NightlyFlow_schedule")
    assert nightly.cron_schedule == "30 6 * * 1-5"
    assert nightly.execution_timezone == "Europe/Berlin"
    assert defs.get_schedule_def("HourlyFlow_schedule").cron_schedule == "0 * * * *"
    with dg.build_schedule_context(scheduled_execution_time=None) as context:
        requests = nightly.evaluate_tick(context).run_requests
    assert len(requests) == 1 and nightly.job_name == "NightlyFlow"


def test_project_prefixes_the_job_name():
    defs = _defs()
    assert defs.get_job_def("analytics__ReportFlow").tags["flowassets/flow"] == "ReportFlow"


def test_trigger_on_finish_sensor_fires_after_upstream_success(isolated_store):
    defs = _defs()
    instance = dg.DagsterInstance.get()
    upstream = defs.get_job_def("NightlyFlow").execute_in_process(instance=instance)
    assert upstream.success
    sensor = defs.get_sensor_def("analytics__ReportFlow_on_finish")
    run = instance.get_run_by_id(upstream.run_id)
    success_event = next(e for e in upstream.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=run,
        dagster_event=success_event, repository_def=defs.get_repository_def())
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["flowassets/triggered_by"].startswith("NightlyFlow/")

    other = defs.get_job_def("HourlyFlow").execute_in_process(instance=instance)
    other_event = next(e for e in other.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(other.run_id), dagster_event=other_event,
        repository_def=defs.get_repository_def())
    assert isinstance(sensor(context), dg.SkipReason)

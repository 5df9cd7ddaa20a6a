"""Metaflow's own @schedule / @project / @trigger_on_finish on unchanged Metaflow classes reach
``build_definitions`` as a schedule and a run-status sensor, and both fire in Dagster's test
harness (the same checks tests/translate/test_triggers.py makes for flowassets' decorators)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from flowassets import build_definitions
from tests.conftest import load_flow

FILE = Path(__file__).resolve().parent / "flows" / "scheduled.py"


def _defs() -> dg.Definitions:
    return build_definitions([load_flow(FILE, "MetaflowNightlyFlow"),
                              load_flow(FILE, "MetaflowReportFlow")])


def test_schedule_fires_and_sensor_launches_the_downstream_job(isolated_store):
    defs = _defs()
    schedule = defs.get_schedule_def("MetaflowNightlyFlow_schedule")
    assert schedule.cron_schedule == "15 4 * * *"
    assert schedule.execution_timezone == "Europe/Paris"
    with dg.build_schedule_context(scheduled_execution_time=None) as context:
        assert len(schedule.evaluate_tick(context).run_requests) == 1

    instance = dg.DagsterInstance.get()
    upstream = defs.get_job_def("MetaflowNightlyFlow").execute_in_process(instance=instance)
    assert upstream.success
    sensor = defs.get_sensor_def("reports__MetaflowReportFlow_on_finish")
    success = next(e for e in upstream.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(upstream.run_id), dagster_event=success,
        repository_def=defs.get_repository_def())
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["flowassets/triggered_by"] == f"MetaflowNightlyFlow/{upstream.run_id}"
    assert sensor.job_name == "reports__MetaflowReportFlow"

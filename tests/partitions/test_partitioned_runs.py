"""Partitioned flows run one partition per run: the Parameter comes from the partition key, the
run carries Dagster's ``dagster/partition`` tag, and the client reads each partition's artifacts
(``Flow(...).runs(partition=...)``, ``Run.partition``). Real jobs on the test's own instance."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from flowassets import FlowTranslator, FlowTranslatorSettings, build_definitions, flow_to_assets, flow_to_job
from flowassets.client import Flow
from tests.conftest import ROOT, load_flow

FLOWS = Path(__file__).parent / "flows" / "partitioned_flows.py"


def _total(date: str, scale: int = 1) -> int:
    """What DayFlow computes for a date: 2 * scale * (d + 2d + 3d) for day-of-month d."""
    return 12 * int(date[-2:]) * scale


def test_each_partition_runs_with_its_key_as_the_parameter(isolated_store):
    job = flow_to_job(load_flow(FLOWS, "DailyFlow"))
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)
    instance = dg.DagsterInstance.get()
    for day in ["2026-01-03", "2026-01-04", "2026-01-05"]:
        assert job.execute_in_process(partition_key=day, instance=instance).success
    # A second run of one partition (a re-run) is listed first for that partition.
    rerun = job.execute_in_process(partition_key="2026-01-04", instance=instance,
                                   run_config={"ops": {"start": {"config": {"scale": 10}}}})
    flow = Flow("DailyFlow")
    assert sorted(run.partition for run in flow.runs()) == [
        "2026-01-03", "2026-01-04", "2026-01-04", "2026-01-05"]
    for day in ["2026-01-03", "2026-01-05"]:
        [run] = flow.runs(partition=day)
        assert run.partition == day and run.data.date == day
        assert run["join"].task.data.total == _total(day)
        assert run.data.label == f"{day}: {_total(day)}"
    latest, first = flow.runs(partition="2026-01-04")
    assert latest.id == rerun.run_id and latest.data.total == _total("2026-01-04", 10)
    assert first.data.total == _total("2026-01-04")
    assert list(flow.runs(partition="2026-02-01")) == []


def test_launchpad_config_for_a_partition_is_the_parameter(isolated_store):
    """What the launchpad and a backfill use: the partition's run config and Dagster's tags."""
    job = flow_to_job(load_flow(FLOWS, "DailyFlow"))
    assert job.partitioned_config.get_run_config_for_partition_key("2026-02-10") == {
        "ops": {"start": {"config": {"date": "2026-02-10"}}}}
    start = job.graph.node_named("start").definition.config_schema.as_field().config_type.fields
    assert not start["date"].is_required and "partition key" in start["date"].description
    assert start["scale"].default_value == 1  # the other Parameters stay as they were


def test_static_keys_become_an_int_parameter_and_override_the_decorator(isolated_store):
    flow = load_flow(FLOWS, "SizedFlow")  # its own @partitioned says static ["3", "5", "7"]
    job = flow_to_job(flow, partitions_def=dg.StaticPartitionsDefinition(["2", "4"]),
                      partition_parameter="size")
    assert job.partitions_def.get_partition_keys() == ["2", "4"]
    instance = dg.DagsterInstance.get()
    assert job.execute_in_process(partition_key="4", instance=instance).success
    [run] = Flow("SizedFlow").runs(partition="4")
    assert run["start"].task.data.size == 4 and run["start"].task.data.squares == [0, 1, 4, 9]


def test_dynamic_partitions_added_at_run_time(isolated_store):
    """DayFlow (no @partitioned) given dynamic partitions by the caller, through settings."""
    translator = FlowTranslator(FlowTranslatorSettings(
        partitions_def=dg.DynamicPartitionsDefinition(name="days"), partition_parameter="date"))
    job = flow_to_job(load_flow(FLOWS, "DayFlow"), translator)
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("days", ["2026-03-08", "2026-03-09"])
    assert job.execute_in_process(partition_key="2026-03-09", instance=instance).success
    [run] = Flow("DayFlow").runs(partition="2026-03-09")
    assert run.data.total == _total("2026-03-09")


def test_partitioned_assets_materialize_per_partition(isolated_store):
    """flow_to_assets of a @partitioned flow: partitioned assets; a downstream partitioned asset
    reads the artifact of its own partition, not the latest materialization."""
    flow_assets = flow_to_assets(load_flow(FLOWS, "DailyFlow"), ["total"])
    key = dg.AssetKey(["DailyFlow", "total"])
    assert isinstance(flow_assets.partitions_def, dg.DailyPartitionsDefinition)

    @dg.asset(partitions_def=flow_assets.partitions_def, ins={"total": dg.AssetIn(key=key)})
    def report(context, total):
        return f"{context.partition_key}={total}"

    defs = build_definitions([], assets=[flow_assets, report])
    instance = dg.DagsterInstance.get()
    for day in ["2026-01-02", "2026-01-09"]:
        assert defs.resolve_job_def("DailyFlow").execute_in_process(partition_key=day, instance=instance).success
    materialized = instance.get_materialized_partitions(key)
    assert materialized == {"2026-01-02", "2026-01-09"}
    result = dg.materialize([flow_assets, report], selection=[report.key], partition_key="2026-01-02",
                            instance=instance, resources=dict(defs.resources))
    assert result.output_for_node("report") == f"2026-01-02={_total('2026-01-02')}"
    assert {r.partition for r in Flow("DailyFlow").runs()} == {"2026-01-02", "2026-01-09"}


def test_component_partitions_attribute(isolated_store):
    from dagster.components.testing import create_defs_folder_sandbox

    from flowassets import FlowComponent

    attributes = {"path": str(FLOWS), "flow": "DayFlow",
                  "partitions": {"daily": datetime.date(2026, 1, 1), "end": "2026-02-01",
                                 "parameter": "date"}}
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(
            component_cls=FlowComponent, defs_path="days",
            defs_yaml_contents={"type": "flowassets.FlowComponent", "attributes": attributes})
        with sandbox.load_component_and_build_defs(defs_path=path) as (_, defs):
            job = defs.get_job_def("DayFlow")
            keys = job.partitions_def.get_partition_keys()
            assert keys[0] == "2026-01-01" and keys[-1] == "2026-01-31"
            assert job.execute_in_process(partition_key="2026-01-31", instance=dg.DagsterInstance.get()).success
    [run] = Flow("DayFlow").runs(partition="2026-01-31")
    assert run.data.total == _total("2026-01-31")


def test_schedule_tick_runs_the_latest_partition(isolated_store):
    """@schedule on a daily-partitioned flow: Dagster's partitioned schedule at the partitions'
    cadence and time zone; a tick runs the day that just ended, and its run is that partition's."""
    defs = build_definitions([load_flow(FLOWS, "ScheduledDailyFlow"), load_flow(FLOWS, "SizedFlow")])
    schedule = defs.get_schedule_def("ScheduledDailyFlow_schedule")
    assert schedule.cron_schedule == "0 0 * * *" and schedule.execution_timezone == "Europe/Berlin"
    instance = dg.DagsterInstance.get()
    tick_time = datetime.datetime(2026, 3, 10, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick_time) as context:
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-03-09"
    job = defs.get_job_def("ScheduledDailyFlow")
    result = job.execute_in_process(partition_key=request.partition_key, tags=request.tags, instance=instance)
    assert result.success
    [run] = Flow("ScheduledDailyFlow").runs(partition="2026-03-09")
    assert run.data.total == _total("2026-03-09")

    # Static partitions have no "latest": the @schedule's own cron, and each tick runs every key
    # (Dagster's build_schedule_from_partitioned_job), one run per key.
    sized = defs.get_schedule_def("SizedFlow_schedule")
    assert sized.cron_schedule == "0 6 * * *"
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick_time) as context:
        requests = sized.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["3", "5", "7"]


def test_cli_runs_the_partition_named_by_the_parameter(isolated_store):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOWS), "--flow", "DailyFlow", "--quiet"]
    done = subprocess.run([*cli, "--date", "2026-01-08"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [run] = Flow("DailyFlow").runs(partition="2026-01-08")
    assert run.data.total == _total("2026-01-08") and run.successful
    for args, words in [(["--date", "2025-12-31"], "'2025-12-31' is not one of its partitions"),
                        ([], "partitioned by Parameter 'date': pass --date KEY")]:
        refused = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=300)
        assert refused.returncode != 0 and words in refused.stderr, refused.stderr
    assert len(list(Flow("DailyFlow").runs())) == 1  # the refused launches made no run


def test_resume_of_a_partition_run_stays_that_partitions_run(isolated_store):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "flowassets.cli.main"]
    failed = subprocess.run([*cli, "run", str(FLOWS), "--flow", "FragileDayFlow", "--quiet",
                             "--date", "2026-01-03"], env={**env, "FRAGILE_FAIL": "1"},
                            capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0 and "end failed on purpose" in failed.stdout + failed.stderr
    resumed = subprocess.run([*cli, "resume", str(FLOWS), "--flow", "FragileDayFlow"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    latest, origin = Flow("FragileDayFlow").runs(partition="2026-01-03")
    assert latest.successful and not origin.successful
    assert latest.data.label == f"2026-01-03: {_total('2026-01-03')}"
    assert latest.dagster_tags["dagster/parent_run_id"] == origin.id and latest.partition == "2026-01-03"


def test_a_metaflow_class_keeps_its_own_decorators_beside_partitioned(isolated_store):
    flow = load_flow(Path(__file__).parent / "flows" / "metaflow_partitioned_flow.py", "MetaflowDailyFlow")
    defs = build_definitions([flow])
    schedule = defs.get_schedule_def("MetaflowDailyFlow_schedule")  # Metaflow's @schedule(daily=True)
    assert schedule.cron_schedule == "0 0 * * *"
    job = defs.get_job_def("MetaflowDailyFlow")
    assert job.execute_in_process(partition_key="2026-02-02", instance=dg.DagsterInstance.get()).success
    [run] = Flow("MetaflowDailyFlow").runs(partition="2026-02-02")
    assert run["start"].task.data.day == "2026-02-02"


def test_translator_hooks_partition_per_flow():
    """dagster-dbt-style override: one hook decides the partitions per flow, one the Parameter."""

    class DaysOfTheTeam(FlowTranslator):
        def get_partitions_def(self, graph):
            if graph.flow_name == "DayFlow":
                return dg.StaticPartitionsDefinition(["2026-05-01", "2026-05-02"])
            return super().get_partitions_def(graph)

        def get_partition_parameter(self, graph):
            return "date" if graph.flow_name == "DayFlow" else super().get_partition_parameter(graph)

    defs = build_definitions([load_flow(FLOWS, "DayFlow"), load_flow(FLOWS, "DailyFlow")], DaysOfTheTeam())
    assert defs.get_job_def("DayFlow").partitions_def.get_partition_keys() == ["2026-05-01", "2026-05-02"]
    assert isinstance(defs.get_job_def("DailyFlow").partitions_def, dg.DailyPartitionsDefinition)

"""Partitions that cannot work are refused when the job is built (a FlowassetsError naming the
flow and the Parameter), and a run that would file one partition's artifacts under another is
refused before any step body runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from flowassets import FlowassetsError, build_definitions, flow_to_assets, flow_to_job
from flowassets.translate.partitions import PartitionError
from tests.conftest import load_flow

BAD = Path(__file__).parent / "flows" / "bad_partitioned_flows.py"
GOOD = Path(__file__).parent / "flows" / "partitioned_flows.py"
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")


def _refused(build, *words: str, code: str) -> PartitionError:
    with pytest.raises(PartitionError) as info:
        build()
    error = info.value
    assert isinstance(error, FlowassetsError)
    assert code in error.codes, error
    for word in words:
        assert word in str(error), (word, str(error))
    return error


def test_partition_parameter_must_be_a_parameter_of_the_flow():
    flow = load_flow(BAD, "TwoStepFlow")
    error = _refused(lambda: flow_to_job(flow, partitions_def=DAILY, partition_parameter="day"),
                     "TwoStepFlow", "'day'", "'date', 'count', 'flag', 'spec'",
                     code="partition-unknown-parameter")
    assert "Parameter('day', type=str)" in str(error)  # the fix
    # The same mistake in the flow file names the decorator's line.
    error = _refused(lambda: flow_to_job(load_flow(BAD, "UnknownParameterFlow")),
                     "UnknownParameterFlow", "'day'", code="partition-unknown-parameter")
    assert f"{BAD}:" in str(error)


def test_partitions_and_parameter_go_together():
    flow = load_flow(BAD, "TwoStepFlow")
    _refused(lambda: flow_to_job(flow, partitions_def=DAILY), "TwoStepFlow", "partition_parameter",
             code="partition-without-parameter")
    _refused(lambda: flow_to_job(flow, partition_parameter="date"), "TwoStepFlow", "'date'",
             code="partition-without-definition")
    _refused(lambda: flow_to_job(load_flow(BAD, "NoParameterFlow")), "NoParameterFlow",
             code="partition-without-parameter")
    _refused(lambda: flow_to_job(flow, partitions_def=["2026-01-01"], partition_parameter="date"),
             "TwoStepFlow", "'date'", "list", code="partition-bad-definition")


@pytest.mark.parametrize("parameter, partitions_def, words", [
    ("count", DAILY, ["'count' is an int", "time-window"]),
    ("count", dg.DynamicPartitionsDefinition(name="days"), ["'count' is an int", "dynamic"]),
    ("count", dg.StaticPartitionsDefinition(["1", "two"]), ["'count' is an int", "['two']"]),
    ("flag", dg.StaticPartitionsDefinition(["True"]), ["'flag' is a bool"]),
    ("spec", dg.StaticPartitionsDefinition(["{}"]), ["'spec' is a JSON"]),
    ("date", dg.MultiPartitionsDefinition({"day": DAILY, "region": dg.StaticPartitionsDefinition(["eu"])}),
     ["'date'", "multi-dimensional"]),
])
def test_parameter_types_that_cannot_hold_the_keys(parameter, partitions_def, words):
    flow = load_flow(BAD, "TwoStepFlow")
    code = "partition-unsupported" if "multi-dimensional" in words else "partition-parameter-type"
    _refused(lambda: flow_to_job(flow, partitions_def=partitions_def, partition_parameter=parameter),
             "TwoStepFlow", *words, code=code)
    # flow_to_assets checks the same way.
    _refused(lambda: flow_to_assets(flow, ["date"], partitions_def=partitions_def,
                                    partition_parameter=parameter), "TwoStepFlow", *words, code=code)


def test_static_keys_that_convert_are_accepted_for_an_int_parameter():
    job = flow_to_job(load_flow(BAD, "TwoStepFlow"),
                      partitions_def=dg.StaticPartitionsDefinition(["1", "20"]), partition_parameter="count")
    assert job.partitions_def.get_partition_keys() == ["1", "20"]
    assert job.partitioned_config.get_run_config_for_partition_key("20") == {
        "ops": {"start": {"config": {"count": 20}}}}


@pytest.mark.parametrize("flow, words", [
    ("TwoKindsFlow", ["exactly one of", "['daily', 'static']"]),
    ("BadStartFlow", ["daily partitions", "Dagster refused it"]),
])
def test_malformed_decorator_arguments(flow, words):
    _refused(lambda: flow_to_job(load_flow(BAD, flow)), flow, *words, code="partition-bad-definition")


def test_decorator_type_mismatch_is_refused_from_the_file():
    _refused(lambda: flow_to_job(load_flow(BAD, "IntDatesFlow")), "IntDatesFlow", "'count'",
             code="partition-parameter-type")


def test_schedules_that_cannot_run_the_latest_partition():
    _refused(lambda: build_definitions([load_flow(BAD, "CronOnDailyFlow")]), "CronOnDailyFlow",
             "cron", "'date'", code="partition-schedule")
    _refused(lambda: flow_to_job(load_flow(BAD, "ScheduledDynamicFlow")), "ScheduledDynamicFlow",
             "dynamic", "'date'", "sensor", code="partition-schedule")


def test_yaml_style_partitions_are_checked_too():
    from flowassets import FlowTranslator, FlowTranslatorSettings

    flow = load_flow(BAD, "TwoStepFlow")
    translator = FlowTranslator(FlowTranslatorSettings(
        partitions_def={"daily": {"start_date": "2026-01-01", "no_such_option": 1}, "parameter": "date"}))
    _refused(lambda: flow_to_job(flow, translator), "TwoStepFlow", "no_such_option",
             code="partition-bad-definition")
    translator = FlowTranslator(FlowTranslatorSettings(partitions_def={"hourly": "2026-01-01",
                                                                      "parameter": "date", "colour": 1}))
    _refused(lambda: flow_to_job(flow, translator), "TwoStepFlow", "colour",
             code="partition-bad-definition")


# -- refused at launch, before any step body runs ---------------------------------------------
def _failure(result) -> str:
    """The start step's failure as the UI shows it (a dg.Failure's description)."""
    data = result.failure_data_for_node("start")
    return f"{data.error.message if data.error else ''}\n{data.user_failure_data.description}"


def test_a_run_config_value_other_than_the_partitions_is_refused(isolated_store):
    job = flow_to_job(load_flow(GOOD, "DailyFlow"))
    result = job.execute_in_process(
        partition_key="2026-01-05", instance=dg.DagsterInstance.get(), raise_on_error=False,
        run_config={"ops": {"start": {"config": {"date": "2026-01-06"}}}})
    assert not result.success
    text = _failure(result)
    assert "flow DailyFlow" in text and "Parameter 'date'" in text and "2026-01-06" in text
    assert [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"] == ["start"]


def test_a_run_without_a_partition_is_refused(isolated_store):
    job = flow_to_job(load_flow(GOOD, "DailyFlow"))
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False,
                                    run_config={"ops": {"start": {"config": {"date": "2026-01-06"}}}})
    assert not result.success
    assert "partitioned by Parameter 'date'" in _failure(result)
    assert [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"] == ["start"]


def test_flowassets_check_refuses_a_bad_partitioned_flow_and_show_names_the_partitions():
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    cli = [sys.executable, "-m", "flowassets.cli.main"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = subprocess.run([*cli, "check", str(BAD), "--flow", "IntDatesFlow"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "[partition-parameter-type] flow IntDatesFlow" in bad.stderr and "'count'" in bad.stderr
    shown = subprocess.run([*cli, "show", str(GOOD), "--flow", "DailyFlow"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "partitioned by --date: Daily, starting 2026-01-01 UTC." in shown.stdout

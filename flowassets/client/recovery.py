"""Runs whose driving process died are marked failed, so they can be resumed.

``flowassets run``, ``resume``, ``logs`` and the client call ``recover_dead_runs`` when they
open the instance; ``flowassets recover`` and ``dead_driver_sensor`` do it periodically for a
deployment. Only runs driven from this machine are judged (``compute.drivers``): a run driven
elsewhere is left to that machine, or to Dagster's run monitoring for launcher-started runs.
"""

from __future__ import annotations

import datetime
import os
import sys
from dataclasses import dataclass
from typing import Any

from ..compute.drivers import DRIVER_HOST_TAG, DRIVER_TAG, driver_gone, parse_driver, this_driver

_ACTIVE = ("NOT_STARTED", "STARTING", "STARTED", "CANCELING")


@dataclass(frozen=True)
class RecoveredRun:
    run_id: str
    flow: str
    status: str  # what the run was marked: FAILURE, or CANCELED for a run that was being canceled
    message: str
    deleted_pods: tuple[str, ...] = ()


def recover_dead_runs(instance: Any, by: str | None = None) -> list[RecoveredRun]:
    """Mark every run of this machine whose driver is gone as failed (canceled when it was
    being canceled), naming the process and when it was last heard from, and delete its task
    pods. ``by`` names who noticed, for the message."""
    from dagster import DagsterRunStatus, RunsFilter

    host = this_driver().host
    statuses = [DagsterRunStatus(s) for s in _ACTIVE]
    records = instance.get_run_records(RunsFilter(statuses=statuses, tags={DRIVER_HOST_TAG: host}))
    recovered = []
    for record in records:
        run = record.dagster_run
        driver = parse_driver(run.tags.get(DRIVER_TAG))
        if driver is None or not driver_gone(driver, record.create_timestamp.timestamp()):
            continue
        recovered.append(_mark_dead(instance, run, driver, by or _this_command()))
    return recovered


def _mark_dead(instance: Any, run: Any, driver: Any, by: str) -> RecoveredRun:
    from dagster import DagsterRunStatus

    flow = run.tags.get("flowassets/flow", run.job_name)
    seen = _last_seen(instance, run.run_id)
    deleted = tuple(_delete_task_pods(instance, run.run_id))
    message = (f"flow {flow}: the process that drove run {run.run_id} ({driver.describe()}) is gone; "
               f"last heard from at {seen}. Marked by {by}. Resume it with `flowassets resume FLOW_FILE "
               f"--origin-run-id {run.run_id}`.")
    if deleted:
        message += f" Deleted {len(deleted)} task pod Job(s) it left running: {', '.join(deleted[:10])}."
    if run.status == DagsterRunStatus.CANCELING:
        instance.report_run_canceled(run, message=message)
        status = "CANCELED"
    else:
        instance.report_run_failed(run, message=message)
        status = "FAILURE"
    return RecoveredRun(run.run_id, flow, status, message, deleted)


def _last_seen(instance: Any, run_id: str) -> str:
    """The time of the run's last event: the last moment its driver was known to be alive."""
    try:
        records = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    except Exception:  # noqa: BLE001 - the message is still useful without it
        records = []
    if not records:
        return "an unknown time"
    stamp = records[0].event_log_entry.timestamp
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _delete_task_pods(instance: Any, run_id: str) -> list[str]:
    """The dead run's task Jobs, found by their run-id label: no pod keeps running (and
    billing) for a run that no one will read. Finished ones stay: a resume reuses their results."""
    from ..compute import task_pods

    if not task_pods.has_k8s_run_launcher(instance):
        return []
    return task_pods.delete_orphaned_task_jobs(instance, run_id)


def _this_command() -> str:
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    if program in ("main.py", "__main__.py", "flowassets"):  # the console script or -m flowassets.cli.main
        program = "flowassets " + " ".join(sys.argv[1:2])
    return f"`{program.strip()}` (pid {os.getpid()})"


def dead_driver_sensor(name: str = "flowassets_dead_drivers", minimum_interval_seconds: int = 60,
                       default_status: str = "RUNNING") -> Any:
    """A Dagster sensor that recovers dead runs every ``minimum_interval_seconds``, for a
    deployment whose daemon runs on the machine that drives CLI runs (``dagster dev`` on a
    workstation, a shared VM). It launches nothing; its tick says what it marked."""
    import dagster as dg

    @dg.sensor(name=name, minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus[default_status],
               description="Marks runs whose driving process (flowassets run/resume, an in-process "
                           "run) is gone from this machine as failed, and deletes their task pods.")
    def recover(context: Any) -> Any:
        found = recover_dead_runs(context.instance, by=f"sensor {name}")
        if not found:
            return dg.SkipReason(f"no run with a dead driver on {this_driver().host}")
        return dg.SkipReason("; ".join(f"{r.run_id}: marked {r.status}" for r in found))

    return recover

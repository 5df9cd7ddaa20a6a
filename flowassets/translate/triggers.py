"""Flow-level decorators that start runs: ``@schedule`` and ``@trigger_on_finish``.

``@schedule`` becomes a ``ScheduleDefinition`` (on a partitioned flow, Dagster's
``build_schedule_from_partitioned_job``: each tick runs the latest time partition, or every
static key); ``@trigger_on_finish(flow=...)`` a run-status
sensor that launches this flow's job when a run of the named flow succeeds. The sensor matches
runs by the ``flowassets/flow`` tag, so the upstream flow may live in another Definitions.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..graph import model
from .translator import FLOW_TAG

_PRESETS = {"hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 0"}


def _decorator(graph: model.FlowGraph, name: str) -> Any:
    return next((d for d in graph.flow_decorators if d.name == name), None)


def schedule_for(graph: model.FlowGraph, job: dg.JobDefinition) -> dg.ScheduleDefinition | None:
    spec = _decorator(graph, "schedule")
    if spec is None:
        return None
    args = spec.resolved()
    cron = args.get("cron")
    if not cron:
        cron = next((_PRESETS[k] for k in ("hourly", "weekly") if spec.args.get(k)), _PRESETS["daily"])
    if job.partitions_def is not None:
        return _partitioned_schedule(graph, job, cron, args.get("timezone") or None)
    return dg.ScheduleDefinition(
        name=f"{job.name}_schedule", job=job, cron_schedule=cron,
        execution_timezone=args.get("timezone") or None,
        description=f"@schedule of flow {graph.flow_name}",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def _partitioned_schedule(graph: model.FlowGraph, job: dg.JobDefinition, cron: str,
                          timezone: str | None) -> dg.ScheduleDefinition:
    """Time-window partitions: the partitions' cadence, each tick running the partition that
    just ended (``partitions.check_partitioning`` refused a cron of the flow's own). Static
    partitions have no latest one: the @schedule's cron, each tick running every key."""
    static = isinstance(job.partitions_def, dg.StaticPartitionsDefinition)
    return dg.build_schedule_from_partitioned_job(
        job, name=f"{job.name}_schedule",
        description=f"@schedule of flow {graph.flow_name}: runs the latest partition",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        cron_schedule=cron if static else None, execution_timezone=timezone if static else None,
    )


def upstream_flows(graph: model.FlowGraph) -> tuple[str, ...]:
    spec = _decorator(graph, "trigger_on_finish")
    if spec is None:
        return ()
    args = spec.resolved()
    names = [args["flow"]] if args.get("flow") else []
    names += list(args.get("flows") or [])
    return tuple(n.split("/")[-1] for n in names)


def sensor_for(graph: model.FlowGraph, job: dg.JobDefinition) -> dg.SensorDefinition | None:
    upstream = upstream_flows(graph)
    if not upstream:
        return None

    @dg.run_status_sensor(
        name=f"{job.name}_on_finish", run_status=dg.DagsterRunStatus.SUCCESS, request_job=job,
        description=f"Runs {graph.flow_name} when {', '.join(upstream)} finishes successfully.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def on_finish(context: dg.RunStatusSensorContext):
        finished = context.dagster_run.tags.get(FLOW_TAG)
        if finished not in upstream:
            return dg.SkipReason(f"run of {finished!r} is not one of {list(upstream)}")
        return dg.RunRequest(run_key=context.dagster_run.run_id,
                             tags={"flowassets/triggered_by": f"{finished}/{context.dagster_run.run_id}"})

    return on_finish

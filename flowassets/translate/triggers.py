"""Flow-level decorators that start runs: ``@schedule`` and ``@trigger_on_finish``.

``@schedule`` becomes a ``ScheduleDefinition`` (on a partitioned flow, Dagster's
``build_schedule_from_partitioned_job``: each tick runs the latest time partition, or every
static key); ``@trigger_on_finish(flow=...)`` a run-status
sensor that launches this flow's job when a run of the named flow succeeds. The sensor matches
runs by the ``flowassets/flow`` tag, so the upstream flow may live in another Definitions.

An asset-backed flow (``flow_to_assets``) carries the same settings as ``FlowTriggers`` in its
``end`` asset's definition metadata, so ``build_definitions`` gives its asset job the schedule
and sensor too (the assets definition has no flow class to read them from again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import dagster as dg

from ..graph import model
from .translator import FLOW_TAG

_PRESETS = {"hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 0"}
TRIGGERS_METADATA_KEY = "flowassets/triggers"


@dataclass(frozen=True)
class FlowTriggers:
    """What starts a flow's runs besides a person, as plain values: the @schedule cron (and
    timezone) and the flows whose successful runs start it (@trigger_on_finish)."""

    flow: str
    cron: str | None = None
    timezone: str | None = None
    upstream: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.cron or self.upstream)

    def metadata(self) -> dict[str, Any]:
        return {TRIGGERS_METADATA_KEY: {"flow": self.flow, "cron": self.cron,
                                        "timezone": self.timezone, "upstream": list(self.upstream)}}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> "FlowTriggers | None":
        value = metadata.get(TRIGGERS_METADATA_KEY)
        value = getattr(value, "value", value)  # a JsonMetadataValue once Dagster normalized it
        if not isinstance(value, Mapping):
            return None
        return cls(value["flow"], value.get("cron"), value.get("timezone"),
                   tuple(value.get("upstream") or ()))


def triggers_of(graph: model.FlowGraph) -> FlowTriggers:
    spec = _decorator(graph, "schedule")
    cron = timezone = None
    if spec is not None:
        args = spec.resolved()
        cron = args.get("cron") or next(
            (_PRESETS[k] for k in ("hourly", "weekly") if spec.args.get(k)), _PRESETS["daily"])
        timezone = args.get("timezone") or None
    return FlowTriggers(graph.flow_name, cron, timezone, upstream_flows(graph))


def _decorator(graph: model.FlowGraph, name: str) -> Any:
    return next((d for d in graph.flow_decorators if d.name == name), None)


def schedule_for(graph: model.FlowGraph, job: Any) -> dg.ScheduleDefinition | None:
    return schedule_from(triggers_of(graph), job)


def schedule_from(triggers: FlowTriggers, job: Any) -> dg.ScheduleDefinition | None:
    """``job``: the flow's job, or the asset job of an asset-backed flow."""
    if not triggers.cron:
        return None
    if getattr(job, "partitions_def", None) is not None:
        return _partitioned_schedule(triggers.flow, job, triggers.cron, triggers.timezone)
    return dg.ScheduleDefinition(
        name=f"{job.name}_schedule", job=job, cron_schedule=triggers.cron,
        execution_timezone=triggers.timezone,
        description=f"@schedule of flow {triggers.flow}",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def _partitioned_schedule(flow: str, job: Any, cron: str,
                          timezone: str | None) -> dg.ScheduleDefinition:
    """Time-window partitions: the partitions' cadence, each tick running the partition that
    just ended (``partitions.check_partitioning`` refused a cron of the flow's own). Static
    partitions have no latest one: the @schedule's cron, each tick running every key."""
    static = isinstance(job.partitions_def, dg.StaticPartitionsDefinition)
    return dg.build_schedule_from_partitioned_job(
        job, name=f"{job.name}_schedule",
        description=f"@schedule of flow {flow}: runs the latest partition",
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


def sensor_for(graph: model.FlowGraph, job: Any) -> dg.SensorDefinition | None:
    return sensor_from(triggers_of(graph), job)


def sensor_from(triggers: FlowTriggers, job: Any) -> dg.SensorDefinition | None:
    upstream = triggers.upstream
    if not upstream:
        return None

    @dg.run_status_sensor(
        name=f"{job.name}_on_finish", run_status=dg.DagsterRunStatus.SUCCESS, request_job=job,
        description=f"Runs {triggers.flow} when {', '.join(upstream)} finishes successfully.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def on_finish(context: dg.RunStatusSensorContext):
        finished = context.dagster_run.tags.get(FLOW_TAG)
        if finished not in upstream:
            return dg.SkipReason(f"run of {finished!r} is not one of {list(upstream)}")
        return dg.RunRequest(run_key=context.dagster_run.run_id,
                             tags={"flowassets/triggered_by": f"{finished}/{context.dagster_run.run_id}"})

    return on_finish

"""What the Dagster instance holds across flows: every flow's name, and when a flow first ran.

``Flow(name)`` opens one flow; Metaflow's client also lists all flows (``Metaflow().flows``) and
dates a flow by its first run, which the metaflow_extensions package (Metaflow's own client
over flowassets runs) answers from here.
"""

from __future__ import annotations

from typing import Any

from .core import FLOW_TAG


def flow_names(instance: Any) -> list[str]:
    """Every flow with at least one run in ``instance``, sorted by name."""
    found: set[str] = set()
    for key, values in instance.get_run_tags(tag_keys=[FLOW_TAG]):
        if key == FLOW_TAG:
            found.update(values)
    return sorted(found)


def first_run_time(instance: Any, flow: str) -> float | None:
    """When the flow's oldest run was created (epoch seconds), None when it has no run."""
    from dagster import RunsFilter

    records = instance.get_run_records(RunsFilter(tags={FLOW_TAG: flow}), limit=1, ascending=True)
    return records[0].create_timestamp.timestamp() if records else None


def run_created_at(run: Any) -> float:
    """When a client ``Run`` was created in Dagster (epoch seconds)."""
    record = run.flow._instance.get_run_record_by_id(run.id)
    return record.create_timestamp.timestamp()

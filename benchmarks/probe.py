"""Measurements taken inside a fresh process with a case's environment; prints one JSON line.

    python benchmarks/probe.py translate FLOW_FILE CLASS       # flow_to_job timing
    python benchmarks/probe.py flowassets-step FLOW RUN_ID STEP
    python benchmarks/probe.py metaflow-step FLOW RUN_ID STEP

Run as a subprocess by ``run.py`` so the driver never imports Dagster or Metaflow and every
probe sees the same instance/datastore the measured run wrote.
"""

from __future__ import annotations

import json
import sys
import time


def translate(path: str, class_name: str) -> dict[str, float]:
    started = time.perf_counter()
    import dagster  # noqa: F401 - timed on its own: every job build pays it once per process

    imported = time.perf_counter()
    from flowassets import flow_to_job
    from flowassets.authoring.loader import load_flow_class

    cls = load_flow_class(path, class_name)
    loaded = time.perf_counter()
    job = flow_to_job(cls)
    built = time.perf_counter()
    assert len(job.graph.nodes) > 0
    return {"import_dagster_s": imported - started, "load_flow_s": loaded - imported,
            "flow_to_job_s": built - loaded, "nodes": len(job.graph.nodes)}


def flowassets_step(flow: str, run_id: str, step: str) -> dict[str, float]:
    """The task's own time (TaskRecord, inside the forked child) and the op's time (Dagster
    STEP_START -> STEP_SUCCESS, which adds the fork, the manifest IO and event writes)."""
    from dagster import DagsterEventType

    from flowassets.client import Flow

    flow_obj = Flow(flow)
    record = flow_obj[run_id][step].task.record
    times = {}
    for entry in flow_obj._instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.step_key == step and event.event_type in (
                DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS):
            times[event.event_type] = entry.timestamp
    op_s = times[DagsterEventType.STEP_SUCCESS] - times[DagsterEventType.STEP_START]
    return {"task_s": record.finished_at - record.started_at, "op_s": op_s}


def metaflow_step(flow: str, run_id: str, step: str) -> dict[str, float]:
    """Metaflow's task metadata: registered by the task process once it has imported the
    flow, finished when ``_task_ok`` is written (so interpreter start-up is not included)."""
    from metaflow import Flow, namespace

    namespace(None)
    task = Flow(flow)[run_id][step].task
    return {"task_s": (task.finished_at - task.created_at).total_seconds()}


PROBES = {"translate": translate, "flowassets-step": flowassets_step,
          "metaflow-step": metaflow_step}


if __name__ == "__main__":
    print(json.dumps(PROBES[sys.argv[1]](*sys.argv[2:])))

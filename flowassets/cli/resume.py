"""``flowassets resume``: Dagster's re-execution, with Metaflow's resume semantics.

Steps before the failure (or before STEP) are not run again: their manifests are read from the
origin run, so their artifacts are reused, not recomputed. The new run points at its origin
(``dagster/parent_run_id``), which is how the client finds the reused steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FlowassetsError


@dataclass(frozen=True)
class ResumeRequest:
    path: str
    flow_name: str
    origin_run_id: str | None = None
    step: str | None = None
    translator_options: dict[str, Any] | None = None
    tags: dict[str, str] | None = None  # --tag values, as `flowassets run` records them
    #: written with the new run's id as soon as it exists (before any step), as Metaflow does
    run_id_file: str | None = None


def resume(request: ResumeRequest) -> Any:
    import dagster as dg

    from ..client.instance import get_instance
    from .launch import LaunchResult
    from .reconstruct import reconstructable_job

    instance = get_instance()
    origin = request.origin_run_id or _latest_run_id(instance, request.flow_name)
    parent = instance.get_run_by_id(origin)
    if parent is None:
        raise FlowassetsError(f"flow {request.flow_name}: no run {origin!r} to resume.")
    recon = reconstructable_job(request.path, request.flow_name, request.translator_options)
    job_def = recon.get_definition()
    if request.step is not None:
        if request.step not in {n.name for n in job_def.graph.nodes}:
            raise FlowassetsError(f"flow {request.flow_name}: cannot resume from unknown step "
                                  f"{request.step!r}.")
        options = dg.ReexecutionOptions(origin, step_selection=[f"{request.step}*"])
    else:
        if parent.status.value == "SUCCESS":
            raise FlowassetsError(f"flow {request.flow_name}: run {origin} succeeded; name a step "
                                  "to resume from (flowassets resume FILE STEP).")
        options = dg.ReexecutionOptions.from_failure(origin, instance)
    import time

    from .main import gc_after_loading

    gc_after_loading()
    started = time.monotonic()
    if request.run_id_file:
        _write_run_id_on_creation(instance, request.run_id_file)
    result = dg.execute_job(recon, instance=instance, reexecution_options=options,
                            run_config=parent.run_config,
                            tags={**job_def.tags, **(request.tags or {})})
    failures = [(e.step_key, _text(e)) for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            print(f"  ok    {event.step_key}")
    return LaunchResult(result.run_id, result.success, failures, time.monotonic() - started)


def _write_run_id_on_creation(instance: Any, path: str) -> None:
    """``execute_job`` creates the re-execution run inside itself; wrap this instance's
    ``create_run_for_job`` (this object only) to write the id the moment the run exists."""
    create = instance.create_run_for_job

    def create_and_record(*args: Any, **kwargs: Any) -> Any:
        run = create(*args, **kwargs)
        with open(path, "w") as handle:
            handle.write(run.run_id)
        return run

    instance.create_run_for_job = create_and_record


def _latest_run_id(instance: Any, flow: str) -> str:
    from dagster import RunsFilter

    runs = instance.get_runs(RunsFilter(tags={"flowassets/flow": flow}), limit=1)
    if not runs:
        raise FlowassetsError(f"flow {flow}: no earlier run to resume.")
    return runs[0].run_id


def _text(event: Any) -> str:
    from .launch import _failure_text

    return _failure_text(event)

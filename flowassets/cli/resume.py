"""``flowassets resume``: Dagster's re-execution, with Metaflow's resume semantics.

Steps before the failure (or before STEP) are not run again: their manifests are read from the
origin run, so their artifacts are reused, not recomputed. Without STEP the new run is a
re-execution *from failure* (tagged as the UI's "Re-execute from failure" tags it), and in the
failed step itself only the tasks that did not finish run again: the others are cloned
(``runtime.execute.clone_finished_tasks``). With STEP every task of STEP and after re-runs.
The new run points at its origin (``dagster/parent_run_id``), which is how the client finds the
reused steps. A run whose driver died was marked failed when the instance was opened
(``client.recovery``), so it resumes like any failed run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import FlowassetsError

_RUNNING = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


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
    quiet: bool = False
    #: a new bound for loops (a resumed loop that hit the old one continues); None: the origin's
    max_loop_iterations: int | None = None


def resume(request: ResumeRequest) -> Any:
    import time

    from dagster._core.storage.tags import (
        PARENT_RUN_ID_TAG, PARTITION_NAME_TAG, PARTITION_SET_TAG, RESUME_RETRY_TAG, ROOT_RUN_ID_TAG,
    )

    from ..client.instance import get_instance
    from ..compute.drivers import DRIVER_HOST_TAG, DRIVER_TAG, driver_tags
    from ..translate.translator import CONFIGS_TAG
    from .launch import drive
    from .reconstruct import reconstructable_job

    started = time.monotonic()
    instance = get_instance()
    flow = request.flow_name
    origin = request.origin_run_id or _latest_run_id(instance, flow)
    parent = instance.get_run_by_id(origin)
    if parent is None:
        raise FlowassetsError(f"flow {flow}: no run {origin!r} to resume.")
    if parent.tags.get("flowassets/flow", flow) != flow:
        raise FlowassetsError(f"flow {flow}: run {origin} is a run of {parent.tags['flowassets/flow']}, "
                              "not of this flow.")
    from .launch import ASSET_RUN_TAG

    if ASSET_RUN_TAG in parent.tags:
        raise FlowassetsError(
            f"flow {flow}: run {origin} ran the flow's asset job (--assets), which `flowassets "
            "resume` does not re-execute yet; use the Dagster UI's \"Re-execute from failure\" on "
            "the run, or run it again with `flowassets run --assets`.")
    status = parent.status.value
    if status in _RUNNING:
        raise FlowassetsError(_still_running(flow, parent))
    options = dict(request.translator_options or {})
    if CONFIGS_TAG in parent.tags and "configs" not in options:
        # The origin's config values, not today's defaults (Metaflow's resume does the same).
        options["configs"] = json.loads(parent.tags[CONFIGS_TAG])
    recon = reconstructable_job(request.path, flow, options)
    job_def = recon.get_definition()
    run_config = with_loop_bound(parent.run_config, request.max_loop_iterations)
    # A partition's run resumes as that partition's run (Dagster's re-execution keeps it too).
    kept = {k: v for k, v in parent.tags.items()
            if (not k.startswith("dagster/") or k in (PARTITION_NAME_TAG, PARTITION_SET_TAG))
            and k not in (DRIVER_TAG, DRIVER_HOST_TAG)}
    tags = {**kept, **job_def.tags, **(request.tags or {}), **driver_tags(),
            PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: parent.root_run_id or parent.run_id}
    if request.step is not None:
        if request.step not in {n.name for n in job_def.graph.nodes}:
            raise FlowassetsError(f"flow {flow}: cannot resume from unknown step {request.step!r}.")
        plan = _plan_from_step(instance, recon, run_config, parent, request.step)
    else:
        if status == "SUCCESS":
            raise FlowassetsError(f"flow {flow}: run {origin} succeeded; name a step to resume "
                                  "from (flowassets resume FILE STEP).")
        plan = _plan_from_failure(instance, recon, run_config, parent)
        tags[RESUME_RETRY_TAG] = "true"
    run = instance.create_run_for_job(
        job_def=job_def, execution_plan=plan, run_config=run_config, tags=tags,
        root_run_id=parent.root_run_id or parent.run_id, parent_run_id=parent.run_id,
        job_code_origin=recon.get_python_origin())
    if request.run_id_file:
        with open(request.run_id_file, "w") as handle:
            handle.write(run.run_id)
    return drive(recon, run, instance, flow, len(plan.step_keys_to_execute), request.quiet,
                 started=started)


def with_loop_bound(run_config: Any, bound: int | None) -> Any:
    """The origin's run config, with ``flowassets_runtime.max_loop_iterations`` replaced when
    ``bound`` is given (a copy: the origin's record is not touched)."""
    if bound is None:
        return run_config
    import copy

    config = copy.deepcopy(dict(run_config or {}))
    runtime = config.setdefault("resources", {}).setdefault("flowassets_runtime", {})
    runtime.setdefault("config", {})["max_loop_iterations"] = bound
    return config


def _plan_from_failure(instance: Any, recon: Any, run_config: Any, parent: Any) -> Any:
    """The failed (or never finished) steps and everything after them, as Dagster's "from
    failure" picks them."""
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.execution.plan.state import KnownExecutionState

    steps, known = KnownExecutionState.build_resume_retry_reexecution(instance, parent_run=parent)
    if not steps:
        raise FlowassetsError(f"run {parent.run_id}: no step failed or was left unfinished; "
                              "name a step to resume from (flowassets resume FILE STEP).")
    return create_execution_plan(recon, run_config, step_keys_to_execute=steps, known_state=known,
                                 tags=parent.tags)


def _plan_from_step(instance: Any, recon: Any, run_config: Any, parent: Any, step: str) -> Any:
    from dagster._core.execution.api import _resolve_reexecute_step_selection

    return _resolve_reexecute_step_selection(instance, recon, run_config, parent, [f"{step}*"])


def _still_running(flow: str, run: Any) -> str:
    from ..compute.drivers import DRIVER_TAG, parse_driver

    driver = parse_driver(run.tags.get(DRIVER_TAG))
    by = f", driven by {driver.describe()}" if driver else ""
    return (f"flow {flow}: run {run.run_id} is still {run.status.value}{by}; let it finish, or stop "
            "it (Ctrl-C in its terminal, or Terminate in the Dagster UI), then resume.")


def _latest_run_id(instance: Any, flow: str) -> str:
    from dagster import RunsFilter

    runs = instance.get_runs(RunsFilter(tags={"flowassets/flow": flow}), limit=1)
    if not runs:
        raise FlowassetsError(f"flow {flow}: no earlier run to resume.")
    return runs[0].run_id

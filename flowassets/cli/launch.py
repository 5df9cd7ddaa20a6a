"""Launch a flow's job on the persistent instance and report progress as steps finish."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

#: on a run of the flow's asset job (``flowassets run --assets``)
ASSET_RUN_TAG = "flowassets/assets"


@dataclass(frozen=True)
class LaunchRequest:
    path: str
    flow_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    max_workers: int = 16
    max_num_splits: int = 100
    max_loop_iterations: int = 1000
    datastore: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    translator_options: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False
    #: some step runs on Kubernetes (@kubernetes, or every step with --with kubernetes)
    kubernetes_steps: bool = False
    #: written with the run id as soon as the run exists (before any step), as Metaflow does
    run_id_file: str | None = None
    #: run the flow's asset job (``flow_to_assets``), so the asset catalog records the run
    as_assets: bool = False
    #: the artifacts exposed as assets (None: every artifact the flow's single-task steps set)
    asset_artifacts: tuple[str, ...] | None = None


@dataclass
class LaunchResult:
    run_id: str
    success: bool
    failures: list[tuple[str | None, str]]  # (step, reason); step None: the run itself
    seconds: float
    steps_done: int = 0  # succeeded or skipped (a switch branch not taken)
    steps_total: int = 0
    tasks: int = 0
    status: str = ""  # the run's final Dagster status: SUCCESS, FAILURE, CANCELED


def run_config_for(request: LaunchRequest, graph_node: str | None = None) -> dict[str, Any]:
    """``graph_node``: the graph-backed asset's node in an asset job, around the start op."""
    store_config: dict[str, Any] = {}
    if request.datastore:
        store_config["datastore"] = request.datastore
    config: dict[str, Any] = {
        "resources": {
            "flowassets_runtime": {"config": {"max_workers": request.max_workers,
                                              "max_num_splits": request.max_num_splits,
                                              "max_loop_iterations": request.max_loop_iterations}},
        },
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    if store_config:
        config["resources"]["flowassets_store"] = {"config": store_config}
    if request.parameters:
        start = {"start": {"config": request.parameters}}
        config["ops"] = {graph_node: {"ops": start}} if graph_node else start
    return config


#: The CLI watches its Kubernetes steps' pods more often than Dagster's default 20 s, so an
#: OOMKilled or unschedulable pod is reported while the user is still looking.
K8S_HEALTH_CHECK_S = 3


def has_k8s_run_launcher(instance: Any) -> bool:
    """compute.task_pods' check, imported only when asked: a local run does not load it."""
    from ..compute.task_pods import has_k8s_run_launcher as on_cluster

    return on_cluster(instance)


def translator_options_for(request: LaunchRequest, instance: Any) -> dict[str, Any]:
    """Kubernetes steps run on Kubernetes when the instance has a K8sRunLauncher: the job's
    default executor ("auto") picks the hybrid executor there, with this process as the run
    worker. Without one, ``--with kubernetes`` is refused (it asks for a cluster) and @kubernetes
    steps run locally in this process, as they do in tests and on a laptop."""
    from ..errors import FlowassetsError

    options = dict(request.translator_options)
    if not request.kubernetes_steps or "executor" in options or has_k8s_run_launcher(instance):
        return options
    if asks_for_kubernetes(options):
        raise FlowassetsError(
            f"flow {request.flow_name}: --with kubernetes needs a cluster, but the Dagster instance "
            f"at {instance.root_directory} has no K8sRunLauncher. Configure run_launcher (module "
            "dagster_k8s, class K8sRunLauncher: job_image, job_namespace, kubeconfig_file or "
            "load_incluster_config, dagster_home) in its dagster.yaml; see the README's Kubernetes "
            "section.")
    return options


def asks_for_kubernetes(options: dict[str, Any]) -> bool:
    """Whether the translator options send every step to Kubernetes (``--with kubernetes``)."""
    from ..authoring.decospecs import parse_decospecs

    added = parse_decospecs(options.get("with_decorators"))
    return any(s.name == "kubernetes" for s in added) or options.get("with_kubernetes") is not None


def launch(request: LaunchRequest, out: TextIO | None = None,
           on_event: Callable[[Any], None] | None = None) -> LaunchResult:
    from ..client.instance import get_instance
    from ..compute.drivers import driver_tags
    from ..storage import select
    from ..translate.ops import DATASTORE_TAG
    from .reconstruct import reconstructable_job

    started = time.monotonic()
    instance = get_instance()
    options = translator_options_for(request, instance)
    recon = reconstructable_job(request.path, request.flow_name, options,
                                list(request.asset_artifacts) if request.asset_artifacts else None,
                                request.as_assets)
    job_def = recon.get_definition()
    # The store is known here: tag the run now so no op has to write the tag (a transaction).
    tags = {**job_def.tags, DATASTORE_TAG: select.location(request.datastore), **request.tags}
    if job_def.partitions_def is not None:  # --date 2026-01-05 runs that day's partition
        from ..translate.partitions import launch_partition_tags

        tags.update(launch_partition_tags(job_def, request.parameters, instance))
    if request.as_assets:  # which artifacts the run exposed ("*": every one)
        tags[ASSET_RUN_TAG] = ",".join(request.asset_artifacts or ("*",))
    steps_total = len(job_def.graph.nodes)
    graph_node = None
    if request.as_assets:  # one graph-backed asset node, the flow's steps inside it
        (node,) = job_def.graph.nodes
        graph_node, steps_total = node.name, len(node.definition.nodes)
    run_config = run_config_for(request, graph_node)
    on_cluster = request.kubernetes_steps and has_k8s_run_launcher(instance)
    if on_cluster:
        from ..compute.task_pods import check_store_reaches_pods

        check_store_reaches_pods(tags[DATASTORE_TAG], request.flow_name)  # before any run or pod
        if options.get("executor") in (None, "auto", "hybrid"):
            run_config["execution"] = {"config": {"health_check_interval_seconds": K8S_HEALTH_CHECK_S}}
    run = instance.create_run_for_job(
        job_def=job_def, run_config=run_config, tags={**tags, **driver_tags()},
        job_code_origin=recon.get_python_origin(),
    )
    if request.run_id_file:
        with open(request.run_id_file, "w") as handle:
            handle.write(run.run_id)
    return drive(recon, run, instance, request.flow_name, steps_total, request.quiet,
                 out, on_event, started)


def drive(recon: Any, run: Any, instance: Any, flow_name: str, steps_total: int, quiet: bool,
          out: TextIO | None = None, on_event: Callable[[Any], None] | None = None,
          started: float | None = None) -> LaunchResult:
    """Execute a created run in this process (``run`` and ``resume``), showing its progress.
    ``out``: where the display goes, this process's stdout by default, looked up when called (a
    command served by the warm worker has its own, set after this module was imported)."""
    out = sys.stdout if out is None else out
    from dagster._core.execution.api import execute_run_iterator

    from .log_tailers import no_tail_mirror, terminal_streams
    from .main import gc_after_loading
    from .sqlite_keepalive import keep_open

    started = time.monotonic() if started is None else started
    gc_after_loading()
    from ..runtime.progress import listening
    from .progress import PlainProgress, QuietProgress, make_progress

    terminal = contextlib.ExitStack()
    out, err = terminal.enter_context(terminal_streams(out))
    display: PlainProgress = (QuietProgress(out, flow_name, steps_total) if quiet
                              else make_progress(out, flow_name, steps_total, err))
    # Without a compute-log capture the op's task output reaches the terminal itself.
    display.shows_task_output = display.shows_task_output and captures_compute_logs(instance)
    display.run_started(run.run_id, instance.root_directory)
    failures: list[tuple[str | None, str]] = []
    step_started: dict[str, float] = {}
    tasks: dict[str, Any] = {}
    try:
        with listening(None if quiet else display), keep_open(instance, run.run_id), \
                no_tail_mirror():
            for event in execute_run_iterator(recon, run, instance):
                if on_event:
                    on_event(event)
                kind, step = event.event_type_value, event.step_key
                if step and "." in step:  # "<Flow>.<step>" inside an asset job's graph
                    step = step.rsplit(".", 1)[-1]
                if kind == "STEP_START":
                    step_started[step] = time.monotonic()
                    display.step_started(step)
                elif kind == "STEP_OUTPUT":
                    meta = event.event_specific_data.metadata or {}
                    if "tasks" in meta:
                        tasks[step] = meta["tasks"].value
                    if "cloned tasks" in meta and step not in display.cloned_steps:
                        display.tasks_cloned(step, meta["cloned tasks"].value)
                elif kind == "STEP_SUCCESS":
                    took = time.monotonic() - step_started.get(step, time.monotonic())
                    display.step_done(step, tasks.setdefault(step, 1), took)
                elif kind == "STEP_SKIPPED":
                    display.step_skipped(step)
                elif kind == "STEP_FAILURE":
                    failures.append((step, _failure_text(event)))
                    display.step_failed(step)
                elif kind == "RUN_FAILURE" and not failures:
                    # Failed outside any step (the executor could not start, a pod could not be
                    # made): the run's own error is the only reason there is.
                    failures.append((None, _failure_text(event) if _has_error(event) else event.message))
    except Exception as exc:  # noqa: BLE001 - Dagster re-raises what failed the run outside a step
        if not any(step is None for step, _ in failures):
            failures.append((None, f"{type(exc).__name__}: {exc}"))
    finally:
        display.close()
        terminal.close()
    final = instance.get_run_by_id(run.run_id)
    status = final.status.value if final is not None else "FAILURE"
    if status == "CANCELED":
        failures = [(None, "The run was canceled (interrupted, or terminated from the UI); "
                           "`flowassets resume` continues it.")]
    return LaunchResult(run.run_id, status == "SUCCESS", failures, time.monotonic() - started,
                        steps_done=display.finished, steps_total=steps_total,
                        tasks=sum(tasks.values()), status=status)


def captures_compute_logs(instance: Any) -> bool:
    """Whether the instance's compute-log manager takes the run's stdout and stderr (Dagster's
    ephemeral instances and a ``NoOpComputeLogManager`` in dagster.yaml do not)."""
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager

    return not isinstance(instance.compute_log_manager, NoOpComputeLogManager)


def _has_error(event: Any) -> bool:
    data = event.event_specific_data
    return getattr(data, "error", None) is not None or getattr(data, "user_failure_data", None) is not None


def _failure_text(event: Any) -> str:
    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description
    error = getattr(data, "error", None)
    if error is None:
        return "the step failed"
    # Dagster wraps user errors; show the innermost message, not the framework traceback.
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return (error.message or "").strip() + ("\n" + "".join(error.stack[-6:]) if error.stack else "")

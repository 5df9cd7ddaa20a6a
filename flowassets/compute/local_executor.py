"""Dagster's in-process executor, plus two things a run driven from a terminal needs.

- The process driving the run is recorded on it (``compute.drivers``), so a run whose driver
  is killed (``kill -9``, OOM, reboot) is found and marked failed instead of staying STARTED.
- Ctrl-C (or SIGTERM) of that process ends the run CANCELED, with the reason, instead of
  Dagster's "interrupted unexpectedly ... treating as failure": Dagster reports CANCELED when the
  run is CANCELING as the interrupt reaches it, so the executor reports CANCELING first.

No dagster-k8s import here: a local flow's job stays cheap to build.
"""

from __future__ import annotations

from typing import Any, Iterator

import dagster as dg
from dagster._core.definitions.executor_definition import IN_PROC_CONFIG
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.in_process import InProcessExecutor

from .drivers import DRIVER_TAG, driver_tags, parse_driver, this_driver


class DrivenInProcessExecutor(InProcessExecutor):
    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        record_driver(plan_context)
        yield from cancel_on_interrupt(plan_context, super().execute(plan_context, execution_plan))


def record_driver(plan_context: Any) -> None:
    """Tag the run with this process unless its launcher (the CLI) already did."""
    run = plan_context.dagster_run
    if DRIVER_TAG not in run.tags:
        plan_context.instance.add_run_tags(run.run_id, driver_tags())


def cancel_on_interrupt(plan_context: Any, events: Iterator[Any]) -> Iterator[Any]:
    """Pass ``events`` on; an interrupt of the run's own driver marks the run CANCELING first.
    A process that is not the recorded driver (a step worker, a run pod) keeps Dagster's
    semantics: there an interrupt without a termination request is a failure."""
    try:
        yield from events
    except (KeyboardInterrupt, DagsterExecutionInterruptedError):
        _report_canceling(plan_context)
        raise


def _report_canceling(plan_context: Any) -> None:
    instance, run_id = plan_context.instance, plan_context.run_id
    run = instance.get_run_by_id(run_id)
    me = this_driver()
    recorded = parse_driver(run.tags.get(DRIVER_TAG)) if run is not None else None
    if run is None or recorded is None or (recorded.host, recorded.pid) != (me.host, me.pid):
        return
    if run.status.value in ("STARTED", "STARTING"):
        instance.report_run_canceling(
            run, message=f"Interrupted (Ctrl-C / SIGINT, or SIGTERM) in the process driving the run "
                         f"({me.describe()}): canceling. Resume it with `flowassets resume`.")


@dg.executor(name="in_process", config_schema=IN_PROC_CONFIG)
def flowassets_in_process_executor(init_context: Any) -> DrivenInProcessExecutor:
    """Execute all steps in a single process (Dagster's ``in_process``, same config)."""
    config = init_context.executor_config
    return DrivenInProcessExecutor(retries=RetryMode.from_config(config["retries"]))

"""A two-op Dagster job whose steps run as Kubernetes Jobs (k8s_job_executor) on the emulator."""

import dagster as dg
from dagster_k8s import k8s_job_executor


@dg.op
def make_number() -> int:
    return 41


@dg.op
def add_one(context: dg.OpExecutionContext, number: int) -> int:
    context.log.info(f"adding one to {number}")
    return number + 1


@dg.job(executor_def=k8s_job_executor)
def emulated_k8s_job():
    add_one(make_number())


@dg.op(tags={"dagster-k8s/config": {"pod_template_spec_metadata": {
    "annotations": {"emulator.flowassets.io/fail": "oomkilled"}}}})
def runs_out_of_memory() -> int:
    import time

    time.sleep(60)  # killed by the emulator's injected OOM long before this returns
    return 0


@dg.job(executor_def=k8s_job_executor)
def oom_k8s_job():
    runs_out_of_memory()


defs = dg.Definitions(jobs=[emulated_k8s_job, oom_k8s_job])

"""Run-wide knobs as a Dagster resource, so the launchpad and the CLI set them the same way."""

import dagster as dg

from .loops import DEFAULT_MAX_LOOP_ITERATIONS


class FlowRuntimeResource(dg.ConfigurableResource):
    """Local task parallelism, foreach and loop limits (Metaflow's --max-workers /
    --max-num-splits; ``max_loop_iterations`` bounds the passes of a recursive switch)."""

    max_workers: int = 16
    max_num_splits: int = 100
    max_loop_iterations: int = DEFAULT_MAX_LOOP_ITERATIONS

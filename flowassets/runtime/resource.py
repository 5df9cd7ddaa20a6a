"""Run-wide knobs as a Dagster resource, so the launchpad and the CLI set them the same way."""

import dagster as dg


class FlowRuntimeResource(dg.ConfigurableResource):
    """Local task parallelism and foreach limits (Metaflow's --max-workers / --max-num-splits)."""

    max_workers: int = 16
    max_num_splits: int = 100

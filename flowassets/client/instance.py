"""Which Dagster instance holds a flow's runs: DAGSTER_HOME if set, else the project's own.

The CLI and the client agree on this, so `flowassets run` and `Flow(...)` in a new process
see the same runs without configuration.
"""

from __future__ import annotations

import os


def default_dagster_home() -> str:
    home = os.environ.get("DAGSTER_HOME")
    if home:
        return os.path.abspath(home)
    return os.path.join(os.getcwd(), ".flowassets", "dagster_home")


def get_instance():
    """The persistent (SQLite unless configured) instance at ``default_dagster_home()``."""
    from dagster import DagsterInstance

    home = default_dagster_home()
    os.makedirs(home, exist_ok=True)
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config) and not os.environ.get("DAGSTER_HOME"):
        # Our own home: keep it quiet (no telemetry banner) and let runs start at once.
        with open(config, "w") as handle:
            handle.write("telemetry:\n  enabled: false\n")
    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    return DagsterInstance.from_config(home)

"""What the warm worker loads before it serves: the modules ``run``, ``resume`` and ``logs``
import (found by diffing sys.modules after a command), the storage modules the instance's
dagster.yaml names, and Dagster's migration scripts (read once, ``client.alembic_cache``)."""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

#: What ``run``, ``resume`` and ``logs`` import; each pulls in the Dagster modules it uses.
PRELOAD = (
    "flowassets.authoring.loader", "flowassets.graph.build", "flowassets.graph.configs",
    "flowassets.cli.launch", "flowassets.cli.resume", "flowassets.cli.reconstruct",
    "flowassets.cli.progress", "flowassets.cli.log_tailers", "flowassets.cli.sqlite_keepalive",
    "flowassets.cli.tags", "flowassets.client", "flowassets.client.instance",
    "flowassets.client.recovery", "flowassets.compute.drivers", "flowassets.compute.kubernetes",
    "flowassets.compute.local_executor", "flowassets.compute.task_pods",
    "flowassets.translate.job", "flowassets.translate.ops", "flowassets.translate.assets",
    "flowassets.runtime.execute", "flowassets.runtime.task", "flowassets.runtime.pool",
    "flowassets.runtime.progress", "flowassets.storage.io_manager", "flowassets.storage.local",
    "flowassets.storage.select",
    "dagster._core.execution.api", "dagster._core.instance",
    "dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log",
    "dagster._core.storage.runs.sqlite.sqlite_run_storage",
    "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.instance.factory", "dagster._core.instance.runs", "dagster._core.secrets.env_file",
    "dagster._core.storage.sqlite_storage", "dagster._core.storage.root",
    "dagster._core.storage.migration.utils", "dagster._core.execution.plan.active",
    "dagster._core.definitions.repository_definition.repository_data_builder",
    "dagster._core.definitions.external_asset", "dagster._core.system_config.composite_descent",
    "dagster._core.utility_ops", "dagster._core.workspace.autodiscovery", "dagster._utils.temp_file",
    "dagster._core.types.transform_typing", "dagster._core.types.primitive_mapping",
    "flowassets.cli.main", "flowassets.runtime.dynamic_defaults", "upath.core", "upath.registry",
    "upath.implementations.local", "fsspec.implementations.local", "gzip", "pwd",
    "dagster._core.instance.runs.run_domain", "dagster._utils.test.definitions",
    "rich.progress", "rich.live",
)


def preload(dagster_home: str | None) -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - an optional part (rich, k8s) may be missing
            _log(f"preload {name}: {type(exc).__name__}: {exc}")
    try:
        from ...client.alembic_cache import warm

        warm()  # Dagster's migration scripts, read once here instead of in every command
    except Exception as exc:  # noqa: BLE001
        _log(f"preload of Dagster's migrations: {type(exc).__name__}: {exc}")
    for name in _instance_modules(dagster_home):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            _log(f"preload {name} (dagster.yaml): {type(exc).__name__}: {exc}")


def _instance_modules(home: str | None) -> list[str]:
    """The storage, launcher and compute-log modules the instance's dagster.yaml names."""
    path = os.path.join(home, "dagster.yaml") if home else ""
    if not path or not os.path.isfile(path):
        return []
    import yaml

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("module"), str):
                found.append(node["module"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        with open(path) as handle:
            walk(yaml.safe_load(handle))
    except (OSError, yaml.YAMLError):
        return []
    return found


def _log(text: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S"), text, file=sys.stderr, flush=True)

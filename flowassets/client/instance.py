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


def get_instance(recover: bool = True):
    """The persistent (SQLite unless configured) instance at ``default_dagster_home()``.

    A DAGSTER_HOME whose dagster.yaml keeps storage in PostgreSQL (``flowassets[postgres]``) is
    opened as it is: nothing is created or locked in the home. ``recover``: first mark the runs
    whose driving process died as failed (``client.recovery``), so what the caller reads (and
    resumes) is the truth, not a run STARTED forever."""
    instance = _get_instance()
    if recover:
        from .recovery import recover_dead_runs

        import sys

        for run in recover_dead_runs(instance):
            print(f"flowassets: {run.message}", file=sys.stderr)
    return instance


def _get_instance():
    from .alembic_cache import reuse_dagster_migrations

    reuse_dagster_migrations()  # three schema checks read Dagster's migrations once, not thrice
    home = default_dagster_home()
    os.makedirs(home, exist_ok=True)
    if _initialised(home):
        return _open_retrying(home)
    # Two first runs started at once would both create and alembic-stamp Dagster's SQLite schemas
    # (seen here: "Version table 'alembic_version' has more than one head present" afterwards,
    # for every later reader); the first one to take the lock creates them, the other waits.
    import fcntl

    with open(os.path.join(home, ".flowassets-init.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = os.path.join(home, "dagster.yaml")
        if not os.path.exists(config) and not os.environ.get("DAGSTER_HOME"):
            # Our own home: quiet (no telemetry banner), and one SQLite event log for all runs
            # rather than Dagster's default of a new database per run, whose creation and schema
            # stamping cost ~0.3 s of every `flowassets run` (see benchmarks/README.md).
            with open(config, "w") as handle:
                handle.write(_OWN_HOME_CONFIG.format(events=os.path.join(home, "history")))
        return _open(home)


def _initialised(home: str) -> bool:
    """Nothing is left to create in the home: Dagster's SQLite storages exist (and, for our own
    home, its dagster.yaml), or the user's dagster.yaml keeps every storage on a database server."""
    needed = [os.path.join(home, "history", "runs.db"), os.path.join(home, "schedules", "schedules.db")]
    if not os.environ.get("DAGSTER_HOME"):
        needed.append(os.path.join(home, "dagster.yaml"))
        return all(os.path.exists(p) for p in needed)
    return all(os.path.exists(p) for p in needed) or _storage_on_a_server(home)


def _storage_on_a_server(home: str) -> bool:
    """The home's dagster.yaml puts runs, event logs and schedules in a server (PostgreSQL,
    MySQL), none in SQLite files.

    Then the home holds no database files, so it needs no init lock and need not be writable
    (a pod's DAGSTER_HOME is often a read-only ConfigMap mount). The server serialises its own
    first schema creation: 4 processes opening a new dagster-postgres database at once, 8 times
    over, all succeeded with one alembic revision (measured here, Dec 2026)."""
    if not os.path.exists(os.path.join(home, "dagster.yaml")):
        return False
    from dagster._core.instance.ref import InstanceRef

    ref = InstanceRef.from_dir(home)
    storages = (ref.run_storage_data, ref.event_storage_data, ref.schedule_storage_data)
    return all(data is not None and "sqlite" not in f"{data.module_name}.{data.class_name}".lower()
               for data in storages)


def _open_retrying(home: str, attempts: int = 6):
    """Open the instance; on a database server, retry when another process was creating the same
    schema at that moment.

    dagster-postgres creates its tables at first use and retries a clash only on "duplicate
    table"; Postgres also reports it as "type ... already exists" (each table has a row type),
    which failed one of 4 `flowassets run`s started at once on a new database (seen here, Dec 2026).
    Once the other process's tables exist, opening again creates nothing."""
    import time

    for attempt in range(attempts):
        try:
            return _open(home)
        except Exception as exc:  # noqa: BLE001 - only a schema-creation clash is retried
            if attempt == attempts - 1 or not _schema_creation_clash(exc):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _schema_creation_clash(exc: BaseException | None) -> bool:
    while exc is not None:
        code = getattr(getattr(exc, "orig", None), "pgcode", None)
        if code in ("42P07", "42710", "23505"):  # duplicate table / object / unique (pg_type)
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _open(home: str):
    from dagster import DagsterInstance

    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    return DagsterInstance.from_config(home)


_OWN_HOME_CONFIG = """telemetry:
  enabled: false
event_log_storage:
  module: dagster._core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: {events}
"""

"""Keep the run's SQLite event-log files open while ``flowassets run`` executes the run.

Dagster's SQLite event log opens a new engine and connection for every event and closes it
after the commit. Closing the *last* connection to a WAL database makes SQLite checkpoint the
WAL into the main file and delete it: two more fsyncs and a file deletion per event. Measured
here: ~13-23 ms per event without another connection open, ~6.5 ms with one (a 20-step run
writes ~125 events). Holding one idle read connection per file for the length of the run keeps
every commit as durable as before (the WAL is still synced on commit) and lets SQLite
checkpoint on its own schedule; closing it at the end checkpoints once.

Nothing changes for other instance kinds (Postgres, MySQL): ``keep_open`` is then a no-op.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any, Iterator


def _sqlite_path(conn_string: str) -> str | None:
    prefix = "sqlite:///"
    if not conn_string.startswith(prefix):
        return None
    path = conn_string[len(prefix):].split("?", 1)[0]
    return path if path and os.path.exists(path) else None


@contextlib.contextmanager
def keep_open(instance: Any, run_id: str) -> Iterator[None]:
    """Hold the run's event-log database(s) open while the body runs: the run's shard and the
    index shard (Dagster's default storage) or the one consolidated database (our own home's)."""
    holders: list[sqlite3.Connection] = []
    try:
        for path in _event_log_paths(instance.event_log_storage, run_id):
            holder = sqlite3.connect(path, timeout=30, check_same_thread=False)
            holder.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # maps the WAL index
            holders.append(holder)
    except (sqlite3.Error, OSError):  # an optimisation only: never fail a run over it
        pass
    paths = {p for p in (_main_db_path(h) for h in holders) if p}
    relaxed = _relax_sync(paths) if paths and _relaxed_sync_wanted() else None
    try:
        yield
    finally:
        if relaxed is not None:
            relaxed()
        for holder in holders:
            with contextlib.suppress(sqlite3.Error):
                holder.close()


def _event_log_paths(storage: Any, run_id: str) -> list[str]:
    from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import (
        ConsolidatedSqliteEventLogStorage,
    )
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    if isinstance(storage, ConsolidatedSqliteEventLogStorage):
        return [storage.get_db_path()] if os.path.exists(storage.get_db_path()) else []
    if not isinstance(storage, SqliteEventLogStorage):
        return []
    with storage.run_connection(run_id):  # creates the run's shard, as its first event would
        pass
    paths = (_sqlite_path(storage.conn_string_for_shard(shard)) for shard in (run_id, "index"))
    return [p for p in paths if p]


def _main_db_path(conn: sqlite3.Connection) -> str | None:
    for _, name, path in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return os.path.realpath(path)
    return None


def _relaxed_sync_wanted() -> bool:
    """``FLOWASSETS_SQLITE_SYNC=normal|full``; unset: relaxed only for the project's own home
    (``.flowassets/dagster_home``), never for an instance the user set up with DAGSTER_HOME."""
    choice = os.environ.get("FLOWASSETS_SQLITE_SYNC", "").lower()
    if choice in ("normal", "full"):
        return choice == "normal"
    return not os.environ.get("DAGSTER_HOME")


def _relax_sync(paths: set[str]):
    """WAL with ``synchronous=NORMAL`` for the run's own shard files: a commit is durable
    against a crash of any process (the WAL is in the OS cache), only not against the machine
    losing power before the next checkpoint, which syncs. That is the local-runtime trade
    Metaflow's local datastore makes too (it never fsyncs), and it halves each event's cost.
    Applied as each connection to those files opens, for the length of the run only."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection) and _main_db_path(dbapi_connection) in paths:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    event.listen(Engine, "connect", on_connect)
    return lambda: event.remove(Engine, "connect", on_connect)

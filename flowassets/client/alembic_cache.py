"""One alembic ScriptDirectory for Dagster's own migrations per process.

Opening a SQLite instance, Dagster checks each storage's schema revision (runs, schedules, the
event log): each check builds an alembic ``ScriptDirectory`` over Dagster's migrations folder and
executes every migration script to find the head revision. Measured here: 0.07 s each on a quiet
host, 0.22-0.29 s loaded, three times per ``flowassets run``. The folder is the same for all three
and its files do not change while a process lives (the warm worker is keyed on Dagster's
installed files), so the directory is built once and reused; the warm worker builds it before
it forks, so a command pays nothing. Any other alembic folder (a user's own) is left alone.
"""

from __future__ import annotations

from typing import Any

#: Dagster's own migrations (``dagster._core.storage.sql.ALEMBIC_SCRIPTS_LOCATION``).
DAGSTER_MIGRATIONS = "dagster:_core/storage/alembic"


def reuse_dagster_migrations() -> None:
    """Make ``ScriptDirectory.from_config`` return one shared directory for Dagster's folder."""
    from alembic.script import ScriptDirectory

    if getattr(ScriptDirectory.from_config, "flowassets_shared", False):
        return
    build = ScriptDirectory.from_config.__func__  # type: ignore[attr-defined]
    shared: dict[str, Any] = {}

    def from_config(cls: type, config: Any) -> Any:
        location = config.get_main_option("script_location")
        if cls is not ScriptDirectory or location != DAGSTER_MIGRATIONS or \
                config.get_main_option("version_locations"):
            return build(cls, config)
        if location not in shared:
            shared[location] = build(cls, config)
        return shared[location]

    from_config.flowassets_shared = True  # type: ignore[attr-defined]
    ScriptDirectory.from_config = classmethod(from_config)  # type: ignore[method-assign]


def warm() -> str:
    """Build the shared directory and its revision map now (the warm worker, before forking)."""
    from alembic.script import ScriptDirectory
    from dagster._core.storage import sql

    reuse_dagster_migrations()
    config = sql.get_alembic_config(sql.__file__)
    return ScriptDirectory.from_config(config).as_revision_number("head")

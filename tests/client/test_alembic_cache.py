"""Dagster's migrations folder is read once per process (flowassets/client/alembic_cache.py);
any other alembic folder still gets a ScriptDirectory of its own, built from its own files."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from dagster._core.storage import sql

from flowassets.client.alembic_cache import reuse_dagster_migrations, warm


def test_dagster_migrations_are_shared_and_other_folders_are_not(tmp_path):
    head = warm()
    reuse_dagster_migrations()  # twice is once
    first = ScriptDirectory.from_config(sql.get_alembic_config(sql.__file__))
    second = ScriptDirectory.from_config(sql.get_alembic_config(sql.__file__))
    assert first is second and first.as_revision_number("head") == head

    own = tmp_path / "migrations"
    (own / "versions").mkdir(parents=True)
    (own / "script.py.mako").write_text("")
    (own / "versions" / "aaa_first.py").write_text(
        'revision = "aaa"\ndown_revision = None\n')
    config = Config()
    config.set_main_option("script_location", str(own))
    assert ScriptDirectory.from_config(config).as_revision_number("head") == "aaa"
    (own / "versions" / "bbb_second.py").write_text(
        'revision = "bbb"\ndown_revision = "aaa"\n')
    again = ScriptDirectory.from_config(config)
    assert again is not ScriptDirectory.from_config(config)
    assert again.as_revision_number("head") == "bbb"  # the new file is seen


def test_a_new_home_is_created_and_reopened_with_the_shared_directory(tmp_path, monkeypatch):
    from flowassets.client.instance import get_instance

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    first = get_instance(recover=False)
    assert first.run_storage.alembic_version()[0] == first.run_storage.alembic_version()[1]
    second = get_instance(recover=False)
    assert second.get_runs() == [] and second.event_log_storage.alembic_version() is not None

"""flowassets on a production Dagster instance: runs and events in a real PostgreSQL server.

A DAGSTER_HOME whose dagster.yaml keeps storage in PostgreSQL, in the two forms users write:
``storage: postgres: postgres_url: postgresql+psycopg2://...`` and the ``postgres_db:`` blocks the
official Dagster Helm chart generates (without ``scheme``, so SQLAlchemy picks the driver: the
[postgres] extra pins SQLAlchemy below 2.1, where that is psycopg2). Four ``flowassets run``
processes write to one database at once, as run pods do on a cluster; a new process reads every
run and artifact back through the client, and psycopg2 shows the rows are in PostgreSQL, not in a
SQLite file in the home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello_flow.py"
HELM_VALUES = ROOT / "helm-values" / "values.yaml"
README = ROOT / "README.md"
GREETINGS = ("hi", "hey", "yo", "hello")
PASSWORD_ENV = "DAGSTER_PG_PASSWORD"  # the variable the Helm chart's dagster.yaml reads


def postgres_db_block(server: PostgresServer, db: str, scheme: str | None = None) -> dict:
    """``postgres_db:`` as the chart's ``dagsterYaml.postgresql.config`` template writes it."""
    block = {"username": server.user, "password": {"env": PASSWORD_ENV}, "hostname": "127.0.0.1",
             "db_name": db, "port": server.port, "params": {}}
    if scheme:
        block["scheme"] = scheme
    return {"postgres_db": block}


def chart_storage(config: dict) -> dict:
    """The chart's three storage blocks (it never writes the ``storage:`` shorthand)."""
    return {
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage",
                        "config": config},
        "event_log_storage": {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage",
                              "config": config},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage",
                             "class": "PostgresScheduleStorage", "config": config},
    }


def helm_values_postgres_db(server: PostgresServer, db: str) -> dict:
    """helm-values/values.yaml's ``postgresql`` block rendered as the chart's template renders it
    (scheme and params from the values), pointed at the test server instead of the example host."""
    pg = yaml.safe_load(HELM_VALUES.read_text())["postgresql"]
    block = postgres_db_block(server, db, pg.get("postgresqlScheme"))
    block["postgres_db"]["params"] = pg["postgresqlParams"]
    return block


def instance_yaml(form: str, server: PostgresServer, db: str) -> dict:
    if form == "postgres_url":
        return {"storage": {"postgres": {"postgres_url": server.url(db)}}}
    if form == "postgres_db":
        return chart_storage(postgres_db_block(server, db))
    if form == "helm_values":
        return chart_storage(helm_values_postgres_db(server, db))
    raise ValueError(form)


@pytest.fixture
def postgres_home(request, postgres_server, postgres_db, monkeypatch) -> tuple[Path, PostgresServer, str]:
    """DAGSTER_HOME (from conftest's isolated_store) with a PostgreSQL dagster.yaml."""
    home = Path(os.environ["DAGSTER_HOME"])
    config = {"telemetry": {"enabled": False}, **instance_yaml(request.param, postgres_server, postgres_db)}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.setenv(PASSWORD_ENV, "unused-with-trust-auth")
    return home, postgres_server, postgres_db


def _flowassets_run(greeting: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(HELLO), "--greeting", greeting,
         "--run-id-file", f"rid-{greeting}.txt", "--quiet"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


READ_BACK = """
import json, sys
from flowassets.client import Flow
flow = Flow("HelloFlow")
out = {}
for run_id in sys.argv[1:]:
    run = flow[run_id]
    out[run_id] = [run.successful, run.data.best, sorted(t.data.message for t in run["greet"])]
print(json.dumps({"runs": out, "listed": sorted(r.id for r in flow)}))
"""


@pytest.mark.parametrize("postgres_home", ["postgres_url", "postgres_db"], indirect=True)
def test_four_concurrent_runs_on_one_postgres_instance(postgres_home, tmp_path):
    home, server, db = postgres_home
    procs = {g: _flowassets_run(g, tmp_path) for g in GREETINGS}
    for greeting, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{greeting}: {out[-1000:]}\n{err[-3000:]}"
    run_ids = {g: (tmp_path / f"rid-{g}.txt").read_text().strip() for g in GREETINGS}
    assert len(set(run_ids.values())) == 4

    # A new process, as a user after the runs: every run and artifact through the client.
    read = subprocess.run([sys.executable, "-c", READ_BACK, *run_ids.values()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert read.returncode == 0, read.stderr[-3000:]
    seen = json.loads(read.stdout.strip().splitlines()[-1])
    assert seen["listed"] == sorted(run_ids.values())
    for greeting, run_id in run_ids.items():
        successful, best, messages = seen["runs"][run_id]
        assert successful is True
        assert messages == sorted(f"{greeting} {greeting}, {n}!" for n in ("ada", "grace", "linus", "guido"))
        assert best == f"{greeting} {greeting}, guido!"  # the longest message times the highest index

    # The runs and their event logs are rows in PostgreSQL ...
    rows = dict(server.execute(db, "SELECT run_id, status FROM runs"))
    assert rows == {run_id: "SUCCESS" for run_id in run_ids.values()}
    events = dict(server.execute(
        db, "SELECT run_id, count(*) FROM event_logs WHERE dagster_event_type = 'STEP_SUCCESS' "
            "GROUP BY run_id"))
    assert events == {run_id: 4 for run_id in run_ids.values()}  # start, greet, pick, end
    # ... and nothing fell back to SQLite files in the home.
    assert sorted(p.name for p in home.rglob("*.db")) == []


def test_postgresql_urls_without_a_driver_mean_psycopg2():
    """What makes the chart's ``postgres_db:`` (no ``scheme``) work: the [postgres] extra's
    SQLAlchemy < 2.1. Under 2.1 this is psycopg 3 and dagster-postgres fails to open."""
    from sqlalchemy.engine import make_url

    assert make_url("postgresql://u@h:5432/d").get_dialect().driver == "psycopg2"


@pytest.mark.parametrize("postgres_home", ["helm_values"], indirect=True)
def test_the_helm_values_postgres_block_runs_a_flow(postgres_home, tmp_path):
    home, server, db = postgres_home
    assert "scheme: postgresql+psycopg2" in (home / "dagster.yaml").read_text()
    proc = _flowassets_run("hey", tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-1000:] + err[-3000:]
    run_id = (tmp_path / "rid-hey.txt").read_text().strip()
    assert server.execute(db, "SELECT status FROM runs") == [("SUCCESS",)]
    assert server.execute(db, "SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))[0][0] > 10


def readme_instance_configs() -> list[dict]:
    """The dagster.yaml blocks of the README's "Production instance: PostgreSQL" section."""
    text = README.read_text().split("## Production instance: PostgreSQL", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block.split("```", 1)[0]) for block in text.split("```yaml\n")[1:]]


def test_the_readme_dagster_yaml_blocks_open_on_a_real_server(postgres_server, tmp_path):
    """Both documented forms, with only the address, user and database changed, open an instance
    and take a run (``flowassets.client.instance.get_instance`` in a new process)."""
    configs = readme_instance_configs()
    assert [list(c["storage"]["postgres"]) for c in configs] == [["postgres_url"], ["postgres_db"]]
    for number, config in enumerate(configs):
        db = postgres_server.create_database()
        pg = config["storage"]["postgres"]
        if "postgres_url" in pg:
            assert pg["postgres_url"].startswith("postgresql+psycopg2://")
            pg["postgres_url"] = postgres_server.url(db)
        else:
            pg["postgres_db"].update(username=postgres_server.user, hostname="127.0.0.1",
                                     port=postgres_server.port, db_name=db)
        home = tmp_path / f"home{number}"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        code = ("from flowassets.client.instance import get_instance\n"
                "from dagster import DagsterRun\n"
                "i = get_instance(); i.add_run(DagsterRun(job_name='readme', run_id='r-%d'))\n"
                "print(type(i.run_storage).__name__, [r.run_id for r in i.get_runs()])" % number)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DAGSTER_HOME": str(home), PASSWORD_ENV: "x"})
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.split()[-2:] == ["PostgresRunStorage", f"['r-{number}']"]
        assert postgres_server.execute(db, "SELECT run_id FROM runs") == [(f"r-{number}",)]


NOOP_COMPUTE_LOGS = {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}


def _in_read_only_home(home: Path, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``argv`` in a private mount namespace where ``home`` is a read-only bind mount of itself,
    as a pod sees a DAGSTER_HOME mounted from a ConfigMap or under readOnlyRootFilesystem."""
    script = f'mount --bind "{home}" "{home}" && mount -o remount,ro,bind "{home}" && exec "$@"'
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())


def _read_only_mounts_work(tmp_path: Path) -> bool:
    probe = tmp_path / "ro-probe"
    probe.mkdir()
    try:
        done = _in_read_only_home(probe, ["true"], tmp_path)
    except FileNotFoundError:  # no unshare
        return False
    return done.returncode == 0


@pytest.mark.parametrize("postgres_home", ["postgres_db"], indirect=True)
def test_a_read_only_dagster_home_on_postgres_runs_and_reads_back(postgres_home, tmp_path):
    """With storage on the server the home holds only dagster.yaml: flowassets must not write
    there (it used to take an init lock file in it, failing every open with EROFS). Telemetry
    off and no-op compute logs, as Dagster itself would otherwise write there too."""
    home, server, db = postgres_home
    if not _read_only_mounts_work(tmp_path):
        pytest.skip("no private mount namespace (unshare --mount) here")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["compute_logs"] = NOOP_COMPUTE_LOGS
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    done = _in_read_only_home(home, [sys.executable, "-m", "flowassets.cli.main", "run", str(HELLO),
                                     "--quiet", "--run-id-file", str(tmp_path / "rid.txt")], tmp_path)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
    run_id = (tmp_path / "rid.txt").read_text().strip()
    read = _in_read_only_home(home, [sys.executable, "-c", READ_BACK, run_id], tmp_path)
    assert read.returncode == 0, read.stderr[-3000:]
    assert json.loads(read.stdout.strip().splitlines()[-1])["runs"][run_id][:2] == [True, "hello hello, guido!"]
    assert server.execute(db, "SELECT status FROM runs WHERE run_id = %s", (run_id,)) == [("SUCCESS",)]
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]

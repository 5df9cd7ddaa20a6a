"""A real PostgreSQL server on 127.0.0.1 for the tests (binaries: scripts/install.d/15-postgres.sh).

Why a real server: the production Dagster instance keeps runs and events in PostgreSQL, and
several run processes (pods, on a cluster) write to it at once. SQLite or a mock proves nothing
about that. One server per pytest worker (session scope), on a free port, with its data and its
unix socket in a temporary folder, so ``pytest -n 2`` workers never share one; ``postgres_db``
gives each test a new, empty database on it.

initdb and the server refuse to run as root, and CI runs as root: both run as the ``postgres``
OS user (Debian's package creates it) in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from .servers import free_port

SUPERUSER = "postgres"
INSTALL_HINT = ("PostgreSQL server binaries (initdb, pg_ctl) were not found under "
                "/usr/lib/postgresql/*/bin or on PATH: run `bash scripts/install.d/15-postgres.sh` "
                "(apt-get install postgresql) as root.")


def find_bindir() -> Path:
    """The newest Debian PostgreSQL bin folder with initdb, else the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise RuntimeError(INSTALL_HINT)


def _as_server_user(argv: list[str]) -> list[str]:
    """Run ``argv`` as the ``postgres`` OS user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SUPERUSER, "--", *argv]
    return ["su", SUPERUSER, "-s", "/bin/sh", "-c", shlex.join(argv)]


@dataclass
class PostgresServer:
    """One initdb'd cluster in ``workdir``, served on 127.0.0.1:``port`` with trust auth."""

    bindir: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    user: str = SUPERUSER

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    @property
    def socketdir(self) -> Path:
        return self.workdir / "socket"

    @property
    def logfile(self) -> Path:
        return self.workdir / "postgres.log"

    def url(self, db: str, driver: str = "psycopg2") -> str:
        """SQLAlchemy URL, the form dagster-postgres's ``postgres_url`` takes."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}@127.0.0.1:{self.port}/{db}"

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(_as_server_user([str(self.bindir / argv[0]), *argv[1:]]),
                              capture_output=True, text=True, timeout=timeout, cwd=self.workdir,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}\n"
                               f"{self._log_tail()}")
        return done

    def _log_tail(self) -> str:
        try:
            return "server log: " + self.logfile.read_text()[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        for folder in (self.workdir, self.socketdir):
            folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(SUPERUSER)
            for folder in (self.workdir, self.socketdir):
                os.chown(folder, entry.pw_uid, entry.pw_gid)
            # pytest's tmp folders are 0700 and root's: the server user must reach its folder.
            _open_path_to(self.workdir)
        self._run("initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")

    def start(self, timeout: float = 60.0) -> None:
        # fsync off: a test cluster need not survive a power cut, and it makes DDL ~10x faster.
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.socketdir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-o", options,
                  "-w", "-t", str(int(timeout)), "start", timeout=timeout + 30)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """pg_isready until the server takes connections, then a real query."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run([str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p",
                                    str(self.port), "-U", self.user, "-d", "postgres"],
                                   capture_output=True, text=True)
            if probe.returncode == 0:
                self.execute("postgres", "SELECT 1")
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready in {timeout:.0f}s. "
                           f"{self._log_tail()}")

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            subprocess.run(_as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                                            "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)

    def execute(self, db: str, sql: str, params: tuple = ()) -> list[tuple]:
        """One statement in autocommit with psycopg2 (CREATE DATABASE needs autocommit)."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=db)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def create_database(self, prefix: str = "fa") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.execute("postgres", f'CREATE DATABASE "{name}"')
        return name


def _open_path_to(folder: Path) -> None:
    """Give 'others' search (x) on every parent of ``folder``, so the server user can reach it."""
    for parent in folder.parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def start_server(workdir: Path | None = None) -> PostgresServer:
    """initdb + start; the caller stops it. Fails with an install hint if binaries are missing."""
    bindir = find_bindir()
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="flowassets-pg-"))
    server = PostgresServer(bindir=bindir, workdir=workdir)
    server.init()
    for attempt in range(3):
        try:
            server.start()
            return server
        except (RuntimeError, subprocess.TimeoutExpired):
            server.stop()
            # free_port() only finds a port free a moment ago: another worker's server may have
            # bound it since. Try another; any other failure is reported as it is.
            if attempt == 2 or "Address already in use" not in server._log_tail():
                raise
            server.port = free_port()
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for this pytest worker, removed at the end of the session.

    Its folder is a fresh one under /tmp rather than pytest's tmp_path_factory: pytest keeps
    old basetemps around and a data folder there would be root-owned mixed with postgres-owned.
    """
    workdir = Path(tempfile.mkdtemp(prefix="flowassets-pg-"))
    try:
        server = start_server(workdir / "cluster")
    except Exception:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database on the worker's server; dropped after the test."""
    name = postgres_server.create_database()
    yield name
    try:
        postgres_server.execute("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # noqa: BLE001 - the server is removed at session end anyway
        pass

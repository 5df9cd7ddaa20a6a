"""The PostgreSQL-instance tests start a real server; the fixtures live in tests/support/postgres.py."""

from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - pytest finds fixtures by name

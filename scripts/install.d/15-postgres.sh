#!/usr/bin/env bash
# PostgreSQL server binaries for the production-instance tests (tests/support/postgres.py starts
# a real server per pytest worker with initdb + pg_ctl, as the `postgres` OS user this package
# creates). The Python side (dagster-postgres, psycopg2) is pyproject's [postgres] extra, part
# of [dev]. Debian's package also creates and starts a default cluster; the tests never use it.
# Idempotent: skipped when any /usr/lib/postgresql/*/bin/initdb exists.
set -euo pipefail
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
initdb=$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1)
"$initdb" --version
id -u postgres >/dev/null  # initdb refuses root: the tests run it as this user
command -v runuser >/dev/null

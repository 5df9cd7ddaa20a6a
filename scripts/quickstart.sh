#!/usr/bin/env bash
# README set-up command 1: install flowassets and run an example flow end to end on the
# embedded default (local executor, local artifact folder, SQLite Dagster instance under
# .flowassets/), then read its artifacts back with the client.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e .
flowassets run examples/hello_flow.py --greeting hi --repeat 3
python3 - <<'PY'
from flowassets.client import Flow
run = Flow("HelloFlow").latest_run
print(f"\nRead back with the client: {run} successful={run.successful}")
print(f"  best message: {run['end'].task['best'].data!r}")
print(f"  scores:       {run.data.scores}")
print("Artifacts are under .flowassets/HelloFlow/, the Dagster instance under .flowassets/dagster_home/.")
PY

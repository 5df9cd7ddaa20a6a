#!/usr/bin/env bash
# Install everything the test suite needs (Python packages, servers, browser) and run it.
# This is the README's second set-up command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'
for part in scripts/install.d/*.sh; do
  [ -e "$part" ] || continue
  echo "== installing: $part"
  bash "$part"
done
# pytest exits 5 when it collects no test: that must fail, never pass silently.
set +e
python3 -m pytest -n 2 --dist loadgroup "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$code"

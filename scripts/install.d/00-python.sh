#!/usr/bin/env bash
# Python test dependencies come from pyproject's [dev] extra (installed by scripts/test.sh).
true

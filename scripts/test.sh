#!/usr/bin/env bash
# The test command (README, CI): installs what it needs, then runs the whole suite:
# unit tests, the sandbox's own tests, and end-to-end runs of real Airflow against the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"

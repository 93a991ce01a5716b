#!/usr/bin/env bash
# The demo: start the local vendor sandbox, seed campaigns, run the kill-switch DAGs in a real
# Airflow (SQLite) and print what was cancelled. No account, no internet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py "$@"

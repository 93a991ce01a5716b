#!/usr/bin/env bash
# The test command (README, CI): installs what it needs, checks formatting, lint and types, then runs
# the whole suite: unit tests, the sandbox's own tests, end-to-end runs of real Airflow against the
# sandbox, and the connection UI in headless Chromium against a real `airflow api-server`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install_browser.sh  # Debian's chromium for tests/ui (no-op when already installed)
echo "ruff format --check, ruff check, mypy ..."
.venv/bin/ruff format --check --quiet .
.venv/bin/ruff check --quiet .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# The test command (README, CI): installs what it needs, then runs the whole suite:
# unit tests, the sandbox's own tests, end-to-end runs of real Airflow against the sandbox, and the
# connection UI in headless Chromium against a real `airflow api-server`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install_browser.sh  # Debian's chromium for tests/ui (no-op when already installed)
exec .venv/bin/python -m pytest "$@"

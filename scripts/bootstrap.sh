#!/usr/bin/env bash
# Create .venv (once) and install the provider with its test extras. Safe to run again:
# it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml .ci/constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing airflow-provider-cancel and apache-airflow into .venv (first run takes a minute)..."
  .venv/bin/python -m pip install -q --upgrade pip
  # The constraints pin the Airflow version CI tests (README "Tested with"); users of the package are free.
  .venv/bin/python -m pip install -q -e ".[test]" -c .ci/constraints.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi

#!/usr/bin/env bash
# Create a virtualenv (once) and install the provider with its test extras. Safe to run again: it
# reinstalls only when pyproject.toml or the constraints changed.
#
#   AIRFLOW_LINE=3.3 (default)  .venv               .ci/constraints.txt      the pinned Airflow
#   AIRFLOW_LINE=3.2            .venv-airflow-3.2   .ci/constraints-3.2.txt
#   AIRFLOW_LINE=3.1            .venv-airflow-3.1   .ci/constraints-3.1.txt
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LINE=${AIRFLOW_LINE:-3.3}
EXTRAS=test
if [ "$LINE" = "3.3" ]; then
  VENV=.venv
  CONSTRAINTS=.ci/constraints.txt
  EXTRAS=test,deployment,benchmarks  # PostgreSQL and Celery for tests/deployment; the HTTP provider for benchmarks/
else
  VENV=.venv-airflow-$LINE
  CONSTRAINTS=.ci/constraints-$LINE.txt
fi
if [ ! -f "$CONSTRAINTS" ]; then
  echo "bootstrap.sh: no constraints for Airflow $LINE ($CONSTRAINTS); tested lines: 3.1, 3.2, 3.3" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml "$CONSTRAINTS" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing airflow-provider-cancel and Airflow $LINE into $VENV (first run takes a minute or two)..."
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # The constraints pin the Airflow each line is tested with (README "Tested with"); users are free.
  "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]" -c "$CONSTRAINTS"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

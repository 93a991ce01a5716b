#!/usr/bin/env bash
# The test command (README, CI). Installs what it needs, checks formatting, lint and types, then:
#   - the whole suite on the pinned Airflow 3.3 (unit, sandbox, end-to-end runs of real Airflow
#     against the sandbox, the connection UI in headless Chromium against a real `airflow api-server`);
#   - the deployment tests again on PostgreSQL (Airflow 3.3);
#   - the end-to-end, UI and kill-switch/deferral deployment tests (and the example DAGs' parse check) on
#     Airflow 3.2 and 3.1, each in its own virtualenv with its own constraints.
# With arguments, runs only pytest on Airflow 3.3 with those arguments (e.g. `-m "not e2e"`, `-k arsel`);
# AIRFLOW_LINE=3.1 picks another tested line for that.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_system_packages.sh  # chromium, postgresql, redis-server (no-op when installed)
LINE=${AIRFLOW_LINE:-3.3}
bash scripts/bootstrap.sh  # the line AIRFLOW_LINE names (default 3.3)
if [ $# -gt 0 ]; then
  if [ "$LINE" = "3.3" ]; then venv=.venv; else venv=.venv-airflow-$LINE; fi
  exec "$venv/bin/python" -m pytest "$@"
fi
echo "== ruff format --check, ruff check, mypy"
.venv/bin/ruff format --check --quiet .
.venv/bin/ruff check --quiet .
.venv/bin/mypy
failed=""
echo "== Airflow 3.3: the whole suite"
.venv/bin/python -m pytest || failed="$failed 3.3"
echo "== Airflow 3.3: the deployment tests on PostgreSQL"
DEPLOYMENT_DB=postgres .venv/bin/python -m pytest tests/deployment -k "not browser" || failed="$failed 3.3-postgres"
for line in 3.2 3.1; do
  echo "== Airflow $line: end-to-end, UI and kill-switch/deferral deployment tests"
  AIRFLOW_LINE=$line bash scripts/bootstrap.sh
  ".venv-airflow-$line/bin/python" -m pytest tests/e2e tests/ui tests/unit/test_example_dags.py \
    tests/deployment -k "not test_cancel_and_wait_at_each_vendor" || failed="$failed $line"
done
if [ -n "$failed" ]; then
  echo "== FAILED on Airflow:$failed" >&2
  exit 1
fi
echo "== All tested Airflow lines passed"

#!/usr/bin/env bash
# The test command (README, CI). Installs what it needs, checks formatting, lint and types, then:
#   - the whole suite on the pinned Airflow 3.3 (unit, sandbox, end-to-end runs of real Airflow
#     against the sandbox, the connection UI in headless Chromium against a real `airflow api-server`);
#   - the deployment tests again on PostgreSQL (Airflow 3.3);
#   - the kill switch and Arsel end-to-end tests, the UI and deployment tests (and the example DAGs' parse
#     check) on Airflow 3.2 and 3.1, each in its own virtualenv with its own constraints.
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
# What differs between Airflow lines is in the base layers (deferral, forms, task state, the kill switch),
# not in each vendor's HTTP: the older lines run the kill switch (every seed vendor, batched and one task
# per target, deferred), Arsel's cancel-and-wait and sensors, the base hook and the deployment.
for line in 3.2 3.1; do
  echo "== Airflow $line: kill switch and Arsel end-to-end, UI and deployment tests"
  AIRFLOW_LINE=$line bash scripts/bootstrap.sh
  ".venv-airflow-$line/bin/python" -m pytest tests/e2e/test_kill_switch_e2e.py tests/e2e/test_kill_switch_approval_e2e.py \
    tests/e2e/test_arsel_e2e.py tests/e2e/test_http_against_sandbox.py tests/e2e/test_batch_against_sandbox.py \
    tests/ui tests/unit/test_example_dags.py tests/deployment -k "not test_cancel_and_wait_at_each_vendor" \
    || failed="$failed $line"
done
if [ -n "$failed" ]; then
  echo "== FAILED on Airflow:$failed" >&2
  exit 1
fi
echo "== All tested Airflow lines passed"

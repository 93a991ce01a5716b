"""DAG-parse cost: importing an operator or sensor module must not import the HTTP clients.

The dag-processor imports every DAG file's operators; ``aiohttp`` (only triggers use it) and
``requests`` (only a running task uses it) come later, on first use. Checked in a fresh interpreter
through ``sys.modules`` (not timed: the time is in ``benchmarks/parse_cost.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import airflow.sdk
import {module}
print(json.dumps({{name: name in sys.modules for name in ("aiohttp", "requests")}}))
"""


@pytest.mark.parametrize(
    "module",
    [
        "airflow_provider_cancel.operators.arsel",
        "airflow_provider_cancel.operators.periskope",
        "airflow_provider_cancel.sensors.base",
        "airflow_provider_cancel.sensors.suprsend",
    ],
)
def test_operator_and_sensor_modules_do_not_import_http_clients(module):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {"aiohttp": False, "requests": False}, f"{module} imports {loaded}"

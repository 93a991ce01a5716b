"""DAG-parse cost: what importing each operator/sensor module adds on top of ``import airflow.sdk``.

The dag-processor pays this for every DAG file that imports the provider. Each module is imported in
a fresh interpreter (so nothing is cached in ``sys.modules``) right after ``import airflow.sdk``; the
time of that second import is the module's cost. Median of several runs per module; the baseline is
the time of ``import airflow.sdk`` itself in the same interpreters (what every DAG file already
pays), so the ratio is the share the provider adds.

Bytecode is cached as in an installed deployment: the interpreters write and read ``.pyc`` files in a
temporary ``PYTHONPYCACHEPREFIX`` (warmed up once), even where ``PYTHONDONTWRITEBYTECODE`` is set;
otherwise each run would also time compiling the provider's sources.

    .venv/bin/python -m benchmarks.parse_cost [--quick]
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Row, child_env, cli, median, python

GOAL_MS = 30.0
PROBE = """
import sys, time
t0 = time.perf_counter()
import airflow.sdk
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
print("COST", elapsed * 1000, (t - t0) * 1000, int("aiohttp" in sys.modules), int("requests" in sys.modules))
"""


def modules() -> list[str]:
    """Every operator and sensor module a DAG file may import (the ``base`` modules come with them)."""
    import airflow_provider_cancel.operators as operators
    import airflow_provider_cancel.sensors as sensors

    found = []
    for package in (operators, sensors):
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                found.append(f"{package.__name__}.{info.name}")
    return sorted(found)


def measure(module: str, pycache: str) -> tuple[float, float, bool, bool]:
    env = child_env(PYTHONPYCACHEPREFIX=pycache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run(
        [python(), "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("COST "))
    _, ms, sdk_ms, has_aiohttp, has_requests = line.split()
    return float(ms), float(sdk_ms), has_aiohttp == "1", has_requests == "1"


def run(quick: bool) -> list[Row]:
    runs = 1 if quick else 3
    targets = ["airflow_provider_cancel.operators.arsel"] if quick else modules()
    pycache = tempfile.mkdtemp(prefix="bench-pycache-")
    try:
        for module in targets:  # warm-up: compile and cache the bytecode of everything imported
            measure(module, pycache)
        measured = {module: [measure(module, pycache) for _ in range(runs)] for module in targets}
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    sdk = median(s[1] for samples in measured.values() for s in samples)
    rows = []
    for module, samples in measured.items():
        cost = median(s[0] for s in samples)
        heavy = [name for name, flag in (("aiohttp", samples[-1][2]), ("requests", samples[-1][3])) if flag]
        rows.append(
            Row(
                benchmark="parse_cost",
                name=module.removeprefix("airflow_provider_cancel."),
                metric=f"import over airflow.sdk (median of {runs})",
                value=cost,
                unit="ms",
                baseline=sdk,
                baseline_name="import airflow.sdk",
                goal=f"<= {GOAL_MS:.0f} ms",
                met=cost <= GOAL_MS,
                note=f"imports {', '.join(heavy)}" if heavy else "no aiohttp/requests",
            )
        )
    return rows


if __name__ == "__main__":
    cli(run, __doc__.splitlines()[0])

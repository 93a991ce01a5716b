"""Run example DAGs in a real Airflow (SQLite, ``airflow dags test``) against the sandbox.

Shared by the demo (``scripts/demo.py``) and the end-to-end tests. Each run gets its own
``AIRFLOW_HOME``; connections come from ``AIRFLOW_CONN_*`` environment variables that point at the
sandbox on 127.0.0.1, so nothing is written to a real vendor and no account is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

# API keys the sandbox accepts by default (see airflow_provider_cancel/sandbox).
SANDBOX_KEYS = {
    "arsel": "be_sandbox_key",
}


def connection_env(sandbox_url: str, keys: dict[str, str] | None = None) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for every vendor, pointing at the sandbox."""
    keys = {**SANDBOX_KEYS, **(keys or {})}
    env = {}
    for vendor, conn_type, prefix in (("arsel", "arsel", "/arsel/v1"),):
        env[f"AIRFLOW_CONN_{vendor.upper()}_DEFAULT"] = json.dumps(
            {"conn_type": conn_type, "host": f"{sandbox_url}{prefix}", "password": keys[vendor]}
        )
    return env


def airflow_env(home: Path, dags_folder: Path = EXAMPLE_DAGS, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    env.update(extra or {})
    return env


def migrate(home: Path) -> None:
    """Create the SQLite metadata DB (about 5 s)."""
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([AIRFLOW, "db", "migrate"], env=airflow_env(home), check=True, capture_output=True, text=True)


@dataclass
class DagRunResult:
    returncode: int
    output: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "state=success" in self.output.replace(" ", "").replace("'", "")

    def task_state(self, task_id: str) -> str | None:
        """The final state of ``task_id`` as the ``airflow dags test`` log reports it."""
        for line in reversed(self.output.splitlines()):
            if f"task_id={task_id}," in line.replace(" ", "") or f"task_id={task_id}\n" in line:
                for state in ("success", "failed", "upstream_failed", "skipped"):
                    if f"state={state}" in line.replace(" ", "") or f"final_state={state}" in line:
                        return state
        return None


def run_dag(home: Path, dag_id: str, conf: dict, env: dict[str, str], timeout: float = 600) -> DagRunResult:
    """``airflow dags test <dag_id> -c <conf>``; returns the exit code and the combined log."""
    proc = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, "-c", json.dumps(conf)],
        env=airflow_env(home, extra=env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DagRunResult(proc.returncode, proc.stdout + proc.stderr)

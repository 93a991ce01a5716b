"""Run example DAGs in a real Airflow (SQLite, ``airflow dags test``) against the sandbox.

Shared by the demo (``scripts/demo.py``) and the end-to-end tests. Each run gets its own
``AIRFLOW_HOME``; connections come from ``AIRFLOW_CONN_*`` environment variables that point at the
sandbox on 127.0.0.1, so nothing is written to a real vendor and no account is needed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _registry() -> dict:
    sys.path.insert(0, str(REPO))  # the harness also runs from a bare checkout
    from airflow_provider_cancel.vendors import vendors

    return vendors()


# API keys the sandbox accepts by default, and how to reach each vendor in it: from the vendor registry.
SANDBOX_KEYS = {name: spec.sandbox_key for name, spec in _registry().items()}
SANDBOX_PERISKOPE_PHONE = _registry()["periskope"].sandbox_extras["phone"]
# (connection id prefix, connection type, path prefix in the sandbox, extras)
VENDOR_CONNECTIONS = tuple(
    (name, spec.conn_type, spec.sandbox_prefix, dict(spec.sandbox_extras)) for name, spec in _registry().items()
)


def connection_env(
    sandbox_url: str, keys: dict[str, str] | None = None, ca_bundle: str | None = None
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for every vendor, pointing at the sandbox (trusting ``ca_bundle`` over TLS)."""
    keys = {**SANDBOX_KEYS, **(keys or {})}
    env = {}
    for vendor, conn_type, prefix, extra in VENDOR_CONNECTIONS:
        extra = {**extra, "ca_bundle": ca_bundle} if ca_bundle else extra
        env[f"AIRFLOW_CONN_{vendor.upper()}_DEFAULT"] = json.dumps(
            {"conn_type": conn_type, "host": f"{sandbox_url}{prefix}", "password": keys[vendor], "extra": extra}
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
    """What ``airflow dags test`` did, read back from its log and the SQLite metadata DB."""

    home: Path
    dag_id: str
    returncode: int
    output: str

    @property
    def run_id(self) -> str | None:
        match = re.search(r"DagRun Finished: dag_id=[^,]+, .*?run_id=([^,]+),", self.output)
        return match.group(1) if match else None

    @property
    def state(self) -> str | None:
        """The DAG run's final state (``success``/``failed``), or ``None`` if it never finished."""
        match = re.search(r"DagRun Finished: .*?, state=(\w+),", self.output)
        return match.group(1) if match else None

    def _query(self, sql: str, *args: object) -> list[tuple]:
        with sqlite3.connect(self.home / "airflow.db") as db:
            return db.execute(sql, args).fetchall()

    def task_states(self) -> dict[str, str]:
        rows = self._query(
            "SELECT task_id, state FROM task_instance WHERE dag_id=? AND run_id=?", self.dag_id, self.run_id
        )
        return dict(rows)

    def xcom(self, task_id: str, key: str = "return_value") -> object:
        rows = self._query(
            "SELECT value FROM xcom WHERE dag_id=? AND run_id=? AND task_id=? AND key=?",
            self.dag_id,
            self.run_id,
            task_id,
            key,
        )
        return json.loads(rows[0][0]) if rows else None

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_dag(home: Path, dag_id: str, conf: dict, env: dict[str, str], timeout: float = 600) -> DagRunResult:
    """``airflow dags test <dag_id> -c <conf>``; returns its exit code, log and DB-backed results."""
    # `dags test` runs each trigger inline right after deferring, so the Airflow race that the first-poll
    # floor avoids (a separate triggerer firing within seconds) cannot happen here: skip the 10 s wait.
    env = {"AIRFLOW__CANCEL_PROVIDER__MIN_FIRST_POLL_DELAY": "0", **env}
    proc = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, "-c", json.dumps(conf)],
        env=airflow_env(home, extra=env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DagRunResult(home, dag_id, proc.returncode, proc.stdout + proc.stderr)

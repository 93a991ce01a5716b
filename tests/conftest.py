"""Shared test set-up: an isolated AIRFLOW_HOME and connections from environment variables (no DB)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

# scripts/harness.py (runs example DAGs, builds connections) is shared by the demo and the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

# Set before Airflow is imported anywhere, so no test touches the developer's ~/airflow.
_HOME = tempfile.mkdtemp(prefix="apc-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pytest  # noqa: E402

API_KEY = "be_test_key_0123456789"


def conn_json(conn_type: str, host: str, password: str = API_KEY, **extra) -> str:
    return json.dumps({"conn_type": conn_type, "host": host, "password": password, "extra": extra})


@pytest.fixture
def set_conn(monkeypatch):
    """Define an Airflow connection through ``AIRFLOW_CONN_<ID>`` for the duration of a test."""

    def _set(conn_id: str, conn_type: str, host: str, password: str = API_KEY, **extra) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn_json(conn_type, host, password, **extra))

    return _set


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the sleeps of tenacity retries instead of sleeping (Retry-After waits become instant)."""
    import tenacity.nap

    slept: list[float] = []
    monkeypatch.setattr(tenacity.nap.time, "sleep", slept.append)
    return slept


@pytest.fixture(scope="session")
def sandbox_server():
    """One local vendor sandbox (127.0.0.1) for the whole session, shared by the e2e and UI tests."""
    from airflow_provider_cancel.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The sandbox, reset to its documented defaults (state, faults, request log, rate limits on) for each test."""
    sandbox_server.reset()
    return sandbox_server

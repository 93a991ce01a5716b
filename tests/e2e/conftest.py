"""End-to-end fixtures: the sandbox on 127.0.0.1 and a real Airflow (SQLite) running example DAGs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import harness  # noqa: E402

from airflow_provider_cancel.sandbox import SandboxServer  # noqa: E402


def _airflow_line() -> tuple[int, int]:
    from importlib.metadata import version

    major, minor = version("apache-airflow-core").split(".")[:2]
    return int(major), int(minor)


#: Tests of behaviour that needs Airflow 3.3's task state store (memory across task tries); on 3.1 and
#: 3.2 the provider degrades to warning that a retry cannot see what an earlier try did.
requires_task_state_store = pytest.mark.skipif(
    _airflow_line() < (3, 3), reason="needs Airflow 3.3's task_state_store (memory across task tries)"
)


#: ``airflow dags test`` on 3.1 and 3.2 runs the approval's trigger inline and does not go on to the
#: cancels after Approve; with a real triggerer it does (tests/deployment covers approval on every line).
requires_awaiting_input = pytest.mark.skipif(
    _airflow_line() < (3, 3), reason="approval under `airflow dags test` needs Airflow 3.3 (awaiting_input)"
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    harness.migrate(home)
    return home


@pytest.fixture
def run_dag(airflow_home: Path, sandbox: SandboxServer) -> Callable[..., harness.DagRunResult]:
    """Run an example DAG with ``airflow dags test`` against the sandbox; returns a DagRunResult."""

    def _run(dag_id: str, conf: dict | None = None, keys: dict[str, str] | None = None) -> harness.DagRunResult:
        return harness.run_dag(airflow_home, dag_id, conf or {}, harness.connection_env(sandbox.url, keys))

    return _run

"""A real Airflow deployment for tests: api-server, scheduler, dag-processor and triggerer as separate
processes, LocalExecutor, SQLite, every one on 127.0.0.1, with the example DAGs and the sandbox.

Unlike ``airflow dags test`` (which runs triggers inline in one process), runs here are started through
the REST API, scheduled by the scheduler, executed by LocalExecutor workers that reach the API server's
execution API, and deferred to a real triggerer. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import pytest

from tests.api_server import API_SERVER_ENV, ApiServer, free_port, running_api_server

RUN_TIMEOUT = 300.0


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/deployment" in str(item.fspath):
            item.add_marker(pytest.mark.deployment)
            item.add_marker(pytest.mark.e2e)


@dataclass
class Deployment:
    """The running components and how to drive them."""

    home: Path
    api: ApiServer
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def log(self, component: str, lines: int = 60) -> str:
        path = self.home / f"{component}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)}" for name in ("scheduler", "triggerer", "dag-processor"))

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = RUN_TIMEOUT, every: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with {process.returncode} while waiting for {what}:\n{self.log(name)}")
            value = check()
            if value:
                return value
            time.sleep(every)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")

    def dag_ready(self, dag_id: str) -> None:
        def ready() -> bool:
            status, _ = self.api.call("GET", f"/api/v2/dags/{dag_id}")
            return status == 200

        self.wait_for(f"the dag-processor to parse {dag_id}", ready, timeout=180)
        status, body = self.api.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        assert status == 200, body

    def trigger(self, dag_id: str, conf: dict) -> str:
        self.dag_ready(dag_id)
        status, body = self.api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        assert status == 200, body
        return body["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        _, body = self.api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return (body or {}).get("state")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self.wait_for(f"run {run_id} of {dag_id} to finish", finished, timeout=timeout)

    def task_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
        _, body = self.api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")
        return {(t["task_id"], t["map_index"]): t["state"] for t in (body or {}).get("task_instances", [])}

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        status, body = self.api.call(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
            f"?map_index={map_index}&deserialize=true",
        )
        return body.get("value") if status == 200 and isinstance(body, dict) else None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, sandbox_server: Any) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("airflow-deployment")
    port = free_port()
    env = harness.airflow_env(
        home,
        extra={
            **API_SERVER_ENV,
            **harness.connection_env(sandbox_server.url),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": "deployment-tests-only-" + "x" * 32,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        },
    )
    subprocess.run([harness.AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True, timeout=300)
    with running_api_server(home, env, apps="all", port=port) as api:
        deployment = Deployment(home, api, env)
        commands = {
            "scheduler": [harness.AIRFLOW, "scheduler", "--skip-serve-logs"],
            "dag-processor": [harness.AIRFLOW, "dag-processor"],
            "triggerer": [harness.AIRFLOW, "triggerer", "--skip-serve-logs"],
        }
        try:
            for name, argv in commands.items():
                log = (home / f"{name}.log").open("w")
                deployment.processes[name] = subprocess.Popen(
                    argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            yield deployment
        finally:
            for process in deployment.processes.values():
                _stop(process)

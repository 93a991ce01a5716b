"""A real Airflow deployment for tests: api-server, scheduler, dag-processor and triggerer as separate
processes, every one on 127.0.0.1, with the example DAGs and a sandbox of its own.

Unlike ``airflow dags test`` (which runs triggers inline in one process), runs here are started through
the REST API, scheduled by the scheduler, executed by workers that reach the API server's execution API,
and deferred to a real triggerer. Every wait is bounded.

- ``DEPLOYMENT_DB=sqlite`` (default) or ``postgres`` (Debian's PostgreSQL, started here);
- ``DEPLOYMENT_EXECUTOR=local`` (default, LocalExecutor) or ``celery`` (Debian's Redis as the broker,
  two Celery workers; needs ``DEPLOYMENT_DB=postgres``).

Every vendor's key is a recognisable one made for this session (``SECRETS``), so the secret-hygiene test
can look for it in every log and the whole metadata database.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import pytest

from airflow_provider_cancel.sandbox import SandboxServer
from airflow_provider_cancel.vendors import vendors
from tests.api_server import API_SERVER_ENV, ApiServer, free_port, running_api_server
from tests.deployment import services

RUN_TIMEOUT = 300.0
DB = os.environ.get("DEPLOYMENT_DB", "sqlite")
EXECUTOR = os.environ.get("DEPLOYMENT_EXECUTOR", "local")
#: One recognisable key per vendor for this session: it must never show up in a log or the metadata DB.
#: Made from the sandbox's default key, so each vendor's key format (prefix, Mailchimp's -us1) holds.
_SESSION = secrets.token_hex(8)
SECRETS = {name: spec.sandbox_key.replace("sandbox", f"deploy{_SESSION}", 1) for name, spec in vendors().items()}


def _sandbox_name(vendor: str) -> str:
    """The sandbox's own name of a registered vendor (its config and admin paths use it)."""
    import importlib

    module, _, cls = vendors()[vendor].sandbox.rpartition(".")
    return str(getattr(importlib.import_module(module), cls).name)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/deployment" in str(item.fspath):
            item.add_marker(pytest.mark.deployment)
            item.add_marker(pytest.mark.e2e)
    # Checks over everything the deployment wrote (logs, metadata DB) run after every other test.
    items.sort(key=lambda item: item.get_closest_marker("after_all_runs") is not None)


@dataclass
class Deployment:
    """The running components and how to drive them."""

    home: Path
    api: ApiServer
    env: dict[str, str]
    sandbox: SandboxServer
    db_url: str
    commands: dict[str, list[str]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, component: str) -> None:
        log = (self.home / f"{component}.log").open("a")
        self.processes[component] = subprocess.Popen(
            self.commands[component], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, component: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Kill a component's whole process group (``SIGKILL``: no clean-up, as when a node dies)."""
        process = self.processes.pop(component)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def reset_sandbox(self) -> SandboxServer:
        """Reset the sandbox to its defaults, keeping this deployment's keys."""
        self.sandbox.reset()
        self.sandbox.app.update_config({_sandbox_name(name): {"api_key": key} for name, key in SECRETS.items()})
        return self.sandbox

    def run(self, dag_id: str, conf: dict, timeout: float = RUN_TIMEOUT) -> DeploymentRun:
        """Trigger a run through the REST API and wait until it finishes."""
        run_id = self.trigger(dag_id, conf)
        return DeploymentRun(self, dag_id, run_id, self.wait_for_run(dag_id, run_id, timeout))

    def trigger_rows(self) -> str:
        """The ``trigger`` table as text (classpath and kwargs, stored as plain JSON): one short read, safe while
        the deployment runs (a dump of every table would hold SQLite's lock against the components)."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.db_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(sqlalchemy.text("SELECT classpath, kwargs FROM trigger")).fetchall()
        finally:
            engine.dispose()
        return repr(rows)

    def everything_written(self) -> str:
        """Every file under AIRFLOW_HOME (component and task logs, the SQLite file) and a dump of every
        table of the metadata database (trigger kwargs, XCom, rendered fields, task state store...)."""
        import sqlalchemy

        texts = [path.read_text(errors="replace") for path in self.home.rglob("*") if path.is_file()]
        engine = sqlalchemy.create_engine(self.db_url)
        try:
            metadata = sqlalchemy.MetaData()
            metadata.reflect(engine)
            with engine.connect() as connection:
                for table in metadata.sorted_tables:
                    rows = connection.execute(sqlalchemy.select(table)).fetchall()
                    texts.append(f"{table.name}: {rows!r}")
        finally:
            engine.dispose()
        return "\n".join(texts)

    def log(self, component: str, lines: int = 60) -> str:
        path = self.home / f"{component}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def trigger_log(self, dag_id: str, run_id: str) -> str:
        """What the triggerer logged for a run's triggers (``<task log>.trigger.<job id>.log`` files)."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        return "\n".join(path.read_text(errors="replace") for path in sorted(folder.rglob("*.log.trigger.*")))

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)}" for name in self.commands)

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

    def call(self, method: str, path: str, body: Any = None, attempts: int = 6) -> tuple[int, Any]:
        """One REST call, repeated while the API server answers 5xx: on SQLite, a write can meet the
        scheduler's lock on a loaded machine and fail with 500. Only idempotent calls come here."""
        for attempt in range(attempts):
            status, answer = self.api.call(method, path, body)
            if status < 500:
                return status, answer
            time.sleep(1.0 + attempt)
        return status, f"{answer}\n--- api-server\n{self.api.log_tail()}"

    def dag_ready(self, dag_id: str) -> None:
        def ready() -> bool:
            status, _ = self.call("GET", f"/api/v2/dags/{dag_id}")
            return status == 200

        self.wait_for(f"the dag-processor to parse {dag_id}", ready, timeout=180)
        status, body = self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        assert status == 200, body

    def trigger(self, dag_id: str, conf: dict) -> str:
        self.dag_ready(dag_id)
        # A run id of our own makes the POST idempotent: a repeat after a 5xx that did create the run gets 409.
        run_id = f"deployment__{secrets.token_hex(6)}"
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        status, answer = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        assert status in (200, 409), answer
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        status, body = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return body.get("state") if status == 200 and isinstance(body, dict) else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self.wait_for(f"run {run_id} of {dag_id} to finish", finished, timeout=timeout)

    def task_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
        return {(t["task_id"], t["map_index"]): t["state"] for t in self.task_instances(dag_id, run_id)}

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        status, body = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")
        return list(body.get("task_instances", [])) if status == 200 and isinstance(body, dict) else []

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        status, body = self.call(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
            f"?map_index={map_index}&deserialize=true",
        )
        return body.get("value") if status == 200 and isinstance(body, dict) else None


@dataclass
class DeploymentRun:
    """A finished run, read through the REST API (the same questions the demo asks of ``dags test``)."""

    deployment: Deployment
    dag_id: str
    run_id: str
    state: str

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.deployment.xcom(self.dag_id, self.run_id, task_id, key=key)

    def task_states(self) -> dict[str, str]:
        return {task: state for (task, _), state in self.deployment.task_states(self.dag_id, self.run_id).items()}

    def tries(self) -> dict[str, int]:
        return {ti["task_id"]: ti["try_number"] for ti in self.deployment.task_instances(self.dag_id, self.run_id)}


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _components(executor: str) -> dict[str, list[str]]:
    # --skip-serve-logs: the log server binds every interface; these tests stay on 127.0.0.1.
    commands = {
        "scheduler": [harness.AIRFLOW, "scheduler", "--skip-serve-logs"],
        "dag-processor": [harness.AIRFLOW, "dag-processor"],
        "triggerer": [harness.AIRFLOW, "triggerer", "--skip-serve-logs"],
    }
    if executor == "celery":
        for worker in ("worker-1", "worker-2"):
            commands[worker] = [
                *(harness.AIRFLOW, "celery", "worker", "--skip-serve-logs", "--concurrency", "4"),
                *("--celery-hostname", f"{worker}@127.0.0.1", "--without-gossip", "--without-mingle"),
            ]
    return commands


@contextlib.contextmanager
def _backing_services(executor: str) -> Any:
    """The metadata DB URL (None: SQLite) and executor settings, with the servers they need running."""
    with contextlib.ExitStack() as stack:
        settings: dict[str, str] = {}
        if DB == "postgres" or executor == "celery":
            url = stack.enter_context(services.postgres())
            settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
        elif DB != "sqlite":
            raise pytest.UsageError(f"DEPLOYMENT_DB must be sqlite or postgres, not {DB!r}")
        if executor == "celery":
            settings.update(
                AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
                AIRFLOW__CELERY__BROKER_URL=stack.enter_context(services.redis()),
                AIRFLOW__CELERY__RESULT_BACKEND="db+" + settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
            )
        elif executor == "local":
            settings["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
        else:
            raise pytest.UsageError(f"DEPLOYMENT_EXECUTOR must be local or celery, not {executor!r}")
        yield settings


@contextlib.contextmanager
def running_deployment(
    home: Path,
    *,
    executor: str = EXECUTOR,
    dags_folder: Path = harness.EXAMPLE_DAGS,
    settings: dict[str, str] | None = None,
    tls: bool = False,
) -> Iterator[Deployment]:
    """Start a deployment in ``home`` (also used by ``benchmarks/time_to_stop.py``); stop it on exit.

    :param settings: Airflow settings on top of the test ones (``AIRFLOW__CORE__PARALLELISM``...).
    :param tls: The sandbox speaks HTTPS; the connections trust its certificate (``ca_bundle``).
    """
    port = free_port()
    with SandboxServer(tls=tls) as sandbox, _backing_services(executor) as services:
        env = harness.airflow_env(
            home,
            dags_folder=dags_folder,
            extra={
                **API_SERVER_ENV,
                **harness.connection_env(sandbox.url, SECRETS, ca_bundle=sandbox.ca_file),
                **services,
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
                "AIRFLOW__API_AUTH__JWT_SECRET": "deployment-tests-only-" + "x" * 32,
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                # A killed triggerer's triggers move to a live one after this long without a heartbeat.
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                **(settings or {}),
            },
        )
        db_url = services.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"sqlite:///{home / 'airflow.db'}"
        subprocess.run(
            [harness.AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True, timeout=300
        )
        with running_api_server(home, env, apps="all", port=port) as api:
            deployment = Deployment(home, api, env, sandbox, db_url, commands=_components(executor))
            deployment.reset_sandbox()
            try:
                for name in deployment.commands:
                    deployment.start(name)
                yield deployment
            finally:
                for process in deployment.processes.values():
                    _stop(process)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_deployment(tmp_path_factory.mktemp("airflow-deployment")) as running:
        yield running


@pytest.fixture
def sandbox(deployment: Deployment) -> SandboxServer:
    """This deployment's sandbox, reset for each test (its keys are the deployment's ``SECRETS``)."""
    return deployment.reset_sandbox()

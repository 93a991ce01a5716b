"""A real ``airflow api-server`` on loopback for tests (UI, approval): start, call its REST API, stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import harness  # noqa: E402

API_SERVER_START_TIMEOUT = 90.0
# Simple auth manager, every user an admin, connection testing on: what the tests drive.
API_SERVER_ENV = {
    "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ApiServer:
    """A running ``airflow api-server``; ``call`` speaks its REST API (auth is automatic: all admins)."""

    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str]  # its AIRFLOW_HOME and config, for running `airflow` commands on its database

    token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``(status, parsed JSON)`` of one request; HTTP errors are returned, not raised."""
        status, answer = self._call(method, path, body)
        if status == 401 and self.token is None and not path.startswith("/auth/"):
            # Airflow 3.1/3.2 want a token even when every user is an admin; GET /auth/token gives one then.
            code, issued = self._call("GET", "/auth/token")
            if code in (200, 201) and isinstance(issued, dict) and issued.get("access_token"):
                self.token = issued["access_token"]
                return self._call(method, path, body)
        return status, answer

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw or b"null")
            except ValueError:
                return exc.code, raw.decode("utf-8", "replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ApiServerFailed(RuntimeError):
    """The API server did not come up."""


@contextmanager
def running_api_server(
    home: Path, env: dict[str, str], argv: list[str] | None = None, *, apps: str = "core", port: int | None = None
) -> Iterator[ApiServer]:
    """Start ``airflow api-server`` on a free loopback port with ``env`` (a migrated ``home``); stop it after."""
    port = port or free_port()
    log_path = home / "api-server.log"
    command = argv or [harness.AIRFLOW, "api-server"]
    with log_path.open("w") as log:
        # -w 1: uvicorn then serves in this very process (a wrapper's patches apply).
        process = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(port), "-w", "1", "--apps", apps],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", process, log_path, env)
    try:
        deadline = time.monotonic() + API_SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise ApiServerFailed(f"airflow api-server exited with {process.returncode}:\n{server.log_tail()}")
            try:
                status, _ = server.call("GET", "/api/v2/monitor/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ApiServerFailed(
                    f"airflow api-server did not answer in {API_SERVER_START_TIMEOUT}s:\n{server.log_tail()}"
                )
            time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

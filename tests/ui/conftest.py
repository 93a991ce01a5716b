"""UI fixtures: the sandbox, a real ``airflow api-server`` on loopback, and headless Chromium.

The API server runs in its own ``AIRFLOW_HOME`` (SQLite, simple auth manager with every user an
admin, connection testing enabled) on a free port of 127.0.0.1. Chromium is Debian's package
(``scripts/install_browser.sh``), driven by Playwright through ``executable_path``: no browser is
downloaded. Screenshots go to ``test-artifacts/ui/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import harness  # noqa: E402

ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags known to work headless as root in a container with no network but loopback.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
API_SERVER_START_TIMEOUT = 90.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ui: starts a real airflow api-server (and headless Chromium) to test the connection UI"
    )


_NOTES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for note in _NOTES:
        terminalreporter.write_line(f"tests/ui: {note}")


def _free_port() -> int:
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

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``(status, parsed JSON)`` of one request; HTTP errors are returned, not raised."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
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


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("airflow-ui-home")
    dags = home / "dags"
    dags.mkdir()
    env = harness.airflow_env(
        home,
        dags_folder=dags,
        extra={
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
            "SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        },
    )
    subprocess.run([harness.AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True, timeout=300)
    port = _free_port()
    log_path = home / "api-server.log"
    with log_path.open("w") as log:
        # -w 1: uvicorn then serves in this very process, so the wrapper's back-port applies.
        process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("airflow_api_server.py")),
                "api-server",
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "1",
                "--apps",
                "core",
            ],
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
                pytest.fail(f"airflow api-server exited with {process.returncode}:\n{server.log_tail()}")
            try:
                status, _ = server.call("GET", "/api/v2/monitor/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"airflow api-server did not answer in {API_SERVER_START_TIMEOUT}s:\n{server.log_tail()}")
            time.sleep(0.3)
        if "back-ported apache/airflow#73298" in log_path.read_text(errors="replace"):
            _NOTES.append(
                "this Airflow lacks apache/airflow#73298 (Test button on connections without a port); "
                "the test API server back-ported it (tests/ui/airflow_api_server.py)"
            )
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it is
# open, which would break every later asyncio test in the same session (unit trigger tests).
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (Debian's chromium package).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]' (never `playwright install`).")
    profile = tempfile.mkdtemp(prefix="apc-chromium-")
    with sync_playwright() as playwright:
        # A persistent context gives Chromium its own fresh --user-data-dir.
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    from playwright.sync_api import expect

    # Generous: CI runs this on 2 busy cores, and an API server answering a Test takes a moment.
    expect.set_options(timeout=15_000)
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

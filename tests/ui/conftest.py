"""UI fixtures: the sandbox, a real ``airflow api-server`` on loopback, and headless Chromium.

The API server runs in its own ``AIRFLOW_HOME`` (SQLite, simple auth manager with every user an
admin, connection testing enabled) on a free port of 127.0.0.1. Chromium is Debian's package
(``scripts/install_system_packages.sh``), driven by Playwright through ``executable_path``: no browser is
downloaded. Screenshots go to ``test-artifacts/ui/`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import harness  # noqa: E402

from tests.api_server import API_SERVER_ENV, ApiServer, ApiServerFailed, running_api_server  # noqa: E402

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ui: starts a real airflow api-server (and headless Chromium) to test the connection UI"
    )


_NOTES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for note in _NOTES:
        terminalreporter.write_line(f"tests/ui: {note}")


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("airflow-ui-home")
    dags = home / "dags"
    dags.mkdir()
    env = harness.airflow_env(home, dags_folder=dags, extra=API_SERVER_ENV)
    subprocess.run([harness.AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True, timeout=300)
    wrapper = [sys.executable, str(Path(__file__).with_name("airflow_api_server.py")), "api-server"]
    try:
        with running_api_server(home, env, wrapper) as server:
            if "back-ported apache/airflow#73298" in server.log_path.read_text(errors="replace"):
                _NOTES.append(
                    "this Airflow lacks apache/airflow#73298 (Test button on connections without a port); "
                    "the test API server back-ported it (tests/ui/airflow_api_server.py)"
                )
            yield server
    except ApiServerFailed as exc:
        pytest.fail(str(exc))


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it is
# open, which would break every later asyncio test in the same session (unit trigger tests).
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_packages.sh (Debian's chromium package).")
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


def open_page(page: Any, url: str) -> None:
    """Go to ``url``; on Airflow 3.1/3.2 the first visit logs in (every user an admin) and lands on "/", so go again."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if not page.url.startswith(url):
        page.goto(url)

"""Shared sandbox-test fixtures: one server per test module, bearer-authenticated sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as sb:
        yield sb


@pytest.fixture()
def bearer_session() -> Iterator[Callable[[str], requests.Session]]:
    """Make ``requests`` sessions that send ``Authorization: Bearer <key>``; closed after the test."""
    sessions: list[requests.Session] = []

    def make(key: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()

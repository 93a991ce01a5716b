"""Arsel's unit-test constants and helpers: the vendor URLs, the default connection, a task context."""

from __future__ import annotations

from tests.unit.conftest import make_context

BASE = "https://arsel.test/v1"
CANCEL = f"{BASE}/email/campaigns/c1/cancel"
GET = f"{BASE}/email/campaigns/c1"


def set_default_conn(set_conn) -> None:
    """The ``arsel_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("arsel_default", "arsel", BASE)


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

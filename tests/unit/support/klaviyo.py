"""Klaviyo's unit-test constants and helpers: the vendor URLs, the default connection, JSON:API bodies."""

from __future__ import annotations

from tests.unit.conftest import make_context

BASE = "https://klaviyo.test/api"
JOB = f"{BASE}/campaign-send-jobs/c1"
CAMPAIGN = f"{BASE}/campaigns/c1"


def set_default_conn(set_conn, **extra) -> None:
    """The ``klaviyo_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("klaviyo_default", "klaviyo", BASE, **extra)


def campaign(status: str | None) -> dict:
    return {"data": {"type": "campaign", "id": "c1", "attributes": {"name": "promo", "status": status}}}


def job(status: str | None) -> dict:
    return {"data": {"type": "campaign-send-job", "id": "c1", "attributes": {"status": status}}}


def error(status: int, code: str = "invalid", detail: str = "The send job cannot be cancelled.") -> dict:
    return {"errors": [{"id": "e1", "status": status, "code": code, "title": "Invalid input.", "detail": detail}]}


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

"""Mailchimp's unit-test constants and helpers: the vendor URLs, the default connection, problem bodies."""

from __future__ import annotations

from tests.unit.conftest import make_context

BASE = "https://mailchimp.test/3.0"
CAMPAIGN = f"{BASE}/campaigns/c1"
CANCEL_SEND = f"{CAMPAIGN}/actions/cancel-send"
UNSCHEDULE = f"{CAMPAIGN}/actions/unschedule"
KEY = "0123456789abcdef0123456789abcdef-us6"


def set_default_conn(set_conn, host: str = BASE, password: str = KEY, **extra) -> None:
    """The ``mailchimp_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("mailchimp_default", "mailchimp", host, password=password, **extra)


def problem(status: int, detail: str = "Bad Request", title: str = "Invalid Resource") -> dict:
    return {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "i1",
    }


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

"""Resend's unit-test constants and helpers: URLs, key, documented bodies, the default connection, a context."""

from __future__ import annotations

from tests.unit.conftest import make_context

BASE = "https://resend.test"
KEY = "re_unit_test_key_0123"
BID = "559ac32e-9ef5-46fb-82a1-b76b840c0f7b"
EID = "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"
BROADCAST = f"{BASE}/broadcasts/{BID}"
EMAIL = f"{BASE}/emails/{EID}"
CANCELLED = {"id": BID, "object": "broadcast"}


def refusal(status: int = 403, message: str = "Broadcast cannot be canceled") -> dict:
    return {"status_code": status, "json": {"statusCode": status, "name": "validation_error", "message": message}}


def broadcast(status: str) -> dict:
    return {"object": "broadcast", "id": BID, "name": "Promo", "status": status, "scheduled_at": None, "sent_at": None}


def email(last_event: str) -> dict:
    return {"object": "email", "id": EID, "to": ["a@example.com"], "last_event": last_event}


def set_default_conn(set_conn) -> None:
    """The ``resend_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("resend_default", "resend", BASE, password=KEY)


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

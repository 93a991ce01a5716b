"""Periskope's unit-test constants and helpers: URLs, ids, documented bodies, connections, a task context."""

from __future__ import annotations

import requests

from airflow_provider_cancel.vendors.periskope import VENDOR
from tests.unit.conftest import FakeTaskStateStore, make_context

BASE = "https://periskope.test/v1"
BID = "b25192d5-2370-4a69-b844-aae5e2bfae92"
DELETE = f"{BASE}/message/broadcast/{BID}"
STATUS = f"{BASE}/queue/broadcast?broadcast_id={BID}"
PURGE = f"{BASE}/message/queues/purge"
PHONE = "919874532456"
KEY = "pk_unit_test_key_123"
STOPPED = {"broadcast_id": BID, "status": "stopped"}
CONFLICT = {"status": "CONFLICT_ERROR", "message": "Broadcast is already stopped", "code": 409}
# requests-mock answers that leave a write unanswered: it may or may not have reached Periskope.
UNANSWERED = [
    {"status_code": 503, "json": {}},
    {"status_code": 500, "json": {}},
    {"exc": requests.exceptions.ReadTimeout},
    {"exc": requests.exceptions.ConnectionError},
]


def status_body(raw, **extra) -> dict:
    return {
        "broadcast_id": BID,
        "org_id": "org_1",
        "total_chats": 10,
        "sent_chats": 4,
        "failed_chats": 0,
        "pending_chats": 6,
        "scheduled_at": None,
        "broadcast_status": raw,
        "logs": [],
        **extra,
    }


def set_default_conn(set_conn) -> None:
    """The ``periskope_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("periskope_default", "periskope", BASE, password=KEY, phone=PHONE)


def set_sandbox_conn(sandbox, set_conn):
    """Point ``periskope_default`` at the local sandbox; returns the sandbox (for a ``sandbox_conn`` fixture)."""
    set_conn(
        "periskope_default", "periskope", sandbox.vendor_url("periskope"), password=VENDOR.sandbox_key, phone=PHONE
    )
    return sandbox


def context(try_number: int = 1, store: FakeTaskStateStore | None = None, max_tries: int | None = None) -> dict:
    return make_context(run_id="r", try_number=try_number, store=store, max_tries=max_tries)

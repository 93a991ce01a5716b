"""OneSignal's unit-test constants and helpers: URLs, key, app id, bodies, the default connection, a context."""

from __future__ import annotations

import time

from tests.unit.conftest import make_context

BASE = "https://onesignal.test"
KEY = "os_v2_app_unit_test_key_0123"
APP = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
NID = "b98881cc-1e94-4366-bbd9-db8f3429292b"
URL = f"{BASE}/notifications/{NID}"
SENT = {"status_code": 400, "json": {"errors": ["Notification has already been sent to all recipients"]}}


def notification(canceled=False, completed_ago=None, send_in=-60, remaining=500) -> dict:
    """The view-notification body's fields that the hook reads (Unix seconds)."""
    now = time.time()
    return {
        "id": NID,
        "app_id": APP,
        "canceled": canceled,
        "completed_at": None if completed_ago is None else int(now - completed_ago),
        "send_after": int(now + send_in),
        "queued_at": int(now - 120),
        "successful": 500,
        "failed": 0,
        "errored": 0,
        "remaining": remaining,
    }


def set_default_conn(set_conn) -> None:
    """The ``onesignal_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("onesignal_default", "onesignal", BASE, password=KEY, app_id=APP)


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

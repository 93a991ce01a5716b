"""Customer.io's unit-test constants and helpers: URLs, key, documented bodies, the default connection, a context."""

from __future__ import annotations

import time

from tests.unit.conftest import make_context

BASE = "https://customerio.test"
KEY = "cio_unit_test_app_key_0123"
TRIGGER = f"{BASE}/v1/campaigns/3/triggers/12"
CANCEL = f"{TRIGGER}/cancel"
CONFLICT = {
    "errors": [{"detail": "the broadcast is resolving its audience, already sending, or already sent", "status": "409"}]
}


def trigger(
    cancelled_ago: float | None = None, processed_ago: float | None = None, scheduled_in: float = 86400
) -> dict:
    """A documented cancel answer: ``{"trigger": {...}}`` with Unix seconds, ``0`` when unset."""
    now = time.time()
    return {
        "trigger": {
            "broadcast_id": 3,
            "cancelled_at": 0 if cancelled_ago is None else int(now - cancelled_ago),
            "created_at": int(now - 7200),
            "expires_after": 0,
            "id": 12,
            "processed_at": 0 if processed_ago is None else int(now - processed_ago),
            "scheduled_at": int(now + scheduled_in),
        }
    }


def read(processed_ago: float | None = None) -> dict:
    """The documented trigger read: ``id, broadcast_id, created_at, processed_at`` only."""
    now = time.time()
    return {
        "trigger": {
            "id": 12,
            "broadcast_id": 3,
            "created_at": int(now - 7200),
            "processed_at": 0 if processed_ago is None else int(now - processed_ago),
        }
    }


def set_default_conn(set_conn) -> None:
    """The ``customerio_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("customerio_default", "customerio", BASE, password=KEY)


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

"""Loop Health comms' unit-test constants and helpers: URLs, token, documented bodies, connection, task context."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from tests.unit.conftest import make_context

BASE = "https://comms.loop.test"
TOKEN = "lph_at_unit_test_token_0123"
CANCEL = f"{BASE}/v1/admin/campaigns/c1/cancel"
HISTORY = f"{BASE}/v1/admin/campaigns/c1/history"


def iso(delta_s: float = 0.0) -> str:
    return (dt.datetime.now(dt.UTC) + timedelta(seconds=delta_s)).isoformat().replace("+00:00", "Z")


def campaign(status: str = "cancelled", cancelled_at: str | None = "now", **fields) -> dict:
    """A documented 200 body of the cancel endpoint (every required field)."""
    return {
        "campaign": {
            "id": "c1",
            "brand_id": "b1",
            "name": "Promo",
            "subject": "Hi",
            "channel": "email",
            "template_key": "t",
            "segment_criteria": {},
            "variables": {},
            "status": status,
            "scheduled_at": None,
            "sent_at": fields.pop("sent_at", None),
            "cancelled_at": iso() if cancelled_at == "now" else cancelled_at,
            "created_by": "u1",
            "created_at": iso(-7200),
            "updated_at": iso(),
            **fields,
        }
    }


def send(status: str = "sending", completed: bool = False, **fields) -> dict:
    return {
        "id": fields.pop("id", "s1"),
        "campaign_id": "c1",
        "brand_id": "b1",
        "status": status,
        "total_recipients": 100,
        "sent": 100 if completed else 40,
        "failed": 0,
        "started_at": iso(-60),
        "completed_at": iso() if completed else None,
        "created_by": "u1",
        "created_at": iso(-60),
        **fields,
    }


def set_default_conn(set_conn) -> None:
    """The ``loop_comms_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("loop_comms_default", "loop_comms", BASE, password=TOKEN)


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

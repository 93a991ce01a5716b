"""SendGrid's unit-test constants and helpers: the vendor URLs, the default connection, error bodies."""

from __future__ import annotations

from tests.unit.conftest import make_context

BASE = "https://sendgrid.test"
HOLDS = f"{BASE}/v3/user/scheduled_sends"
HOLD = f"{HOLDS}/b1"
SINGLE = f"{BASE}/v3/marketing/singlesends/ss1"
UNSCHEDULE = f"{SINGLE}/schedule"


def set_default_conn(set_conn, host: str = BASE, **extra) -> None:
    """The ``sendgrid_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("sendgrid_default", "sendgrid", host, **extra)


def errors(*messages: str, field: str | None = None) -> dict:
    return {"errors": [{"field": field, "message": m, "help": None} for m in messages], "id": "e1"}


def context(task_id="cancel", run_id="manual__1", try_number=1, **kwargs):
    return make_context(task_id=task_id, run_id=run_id, try_number=try_number, **kwargs)

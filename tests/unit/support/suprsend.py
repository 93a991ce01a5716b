"""SuprSend's unit-test constants and helpers: URLs, key, message pages, the default connection, a task context."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from airflow_provider_cancel.timeutil import iso
from tests.unit.conftest import make_context

BASE = "https://suprsend.test"
KEY = "ss_unit_key_0123456789"
WF_CANCEL = f"{BASE}/v1/workflow_run/cancel/"
BC_CANCEL = f"{BASE}/v1/broadcast_run/cancel/"
MESSAGES = f"{BASE}/v1/message/"
WF_400 = {"code": 400, "message": "at least one filter is required: execution_id, recipients, idempotency_key"}
UTC = dt.UTC


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def ago(seconds: float) -> str:
    return iso(now() - timedelta(seconds=seconds))


def page(*created_at: str, count: int | None = None) -> dict:
    results = [{"message_id": f"m{i}", "status": "triggered", "created_at": c} for i, c in enumerate(created_at)]
    return {"meta": {"count": len(results) if count is None else count, "limit": 1}, "results": results}


def sent_json(requests_mock, index=-1):
    return requests_mock.request_history[index].json()


def query(request) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def set_default_conn(set_conn) -> None:
    """The ``suprsend_default`` connection (each test file's autouse ``conn`` fixture calls this)."""
    set_conn("suprsend_default", "suprsend", BASE, password=KEY)


def context(try_number=1, max_tries=2, run_start=None):
    return make_context(try_number=try_number, max_tries=max_tries, run_start=run_start)

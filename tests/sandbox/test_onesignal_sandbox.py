"""The OneSignal part of the sandbox, over real HTTP; then the hook against each of its readings."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "os_v2_app_sandbox_key"
APP = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
AUTH = {"Authorization": f"Key {KEY}"}


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    return server


def seed(sb: SandboxServer, *items: dict[str, Any]) -> list[dict[str, Any]]:
    return sb.admin("POST", "/onesignal/seed", {"notifications": list(items)})["notifications"]


def url(sb: SandboxServer, nid: str, app: str = APP) -> str:
    return f"{sb.vendor_url('onesignal')}/notifications/{nid}?app_id={app}"


def status(sb: SandboxServer, nid: str) -> str:
    return next(n["status"] for n in sb.admin("GET", "/onesignal/state")["notifications"] if n["id"] == nid)


def test_key_and_basic_schemes_app_scoping_and_no_key_in_the_log(sb: SandboxServer) -> None:
    seed(sb, {"id": "n1"})
    assert requests.get(url(sb, "n1"), headers=AUTH).status_code == 200
    assert requests.get(url(sb, "n1"), headers={"Authorization": "Basic os_legacy_sandbox_key"}).status_code == 200
    for headers in ({}, {"Authorization": f"Bearer {KEY}"}, {"Authorization": "Key wrong"}):
        r = requests.get(url(sb, "n1"), headers=headers)
        assert r.status_code == 401 and list(r.json()) == ["errors"]
    assert requests.get(url(sb, "n1", "00000000-0000-0000-0000-000000000000"), headers=AUTH).status_code == 403
    assert requests.get(f"{sb.vendor_url('onesignal')}/notifications/n1", headers=AUTH).status_code == 400
    assert KEY not in json.dumps(sb.admin("GET", "/requests?vendor=onesignal"))


def test_cancel_scheduled_and_sending_then_the_view_shows_canceled(sb: SandboxServer) -> None:
    seed(sb, {"id": "n1"}, {"id": "n2", "status": "sending", "total": 1000, "per_s": 10})
    for nid in ("n1", "n2"):
        r = requests.delete(url(sb, nid), headers=AUTH)
        assert r.status_code == 200 and r.json() == {"success": True}
    view = requests.get(url(sb, "n2"), headers=AUTH).json()
    assert view["canceled"] is True and view["completed_at"] is None and view["remaining"] > 0
    sb.admin("POST", "/time", {"advance_s": 500})
    assert requests.get(url(sb, "n2"), headers=AUTH).json()["remaining"] == view["remaining"]  # stopped


@pytest.mark.parametrize(("sent_status", "code"), [(400, 400), (200, 200)])
def test_cancel_of_a_sent_notification_is_configurable(sb: SandboxServer, sent_status: int, code: int) -> None:
    sb.admin("POST", "/config", {"onesignal": {"sent_status": sent_status}})
    seed(sb, {"id": "n1", "status": "completed"})
    r = requests.delete(url(sb, "n1"), headers=AUTH)
    assert r.status_code == code and status(sb, "n1") == "completed"
    if code == 400:
        assert r.json() == {"errors": ["Notification has already been sent to all recipients"]}


@pytest.mark.parametrize(("recancel", "code"), [("200", 200), ("400", 400)])
def test_recancel_and_not_found_are_configurable(sb: SandboxServer, recancel: str, code: int) -> None:
    sb.admin("POST", "/config", {"onesignal": {"recancel": recancel, "not_found_status": 400}})
    seed(sb, {"id": "n1", "status": "canceled"})
    assert requests.delete(url(sb, "n1"), headers=AUTH).status_code == code
    assert requests.delete(url(sb, "nope"), headers=AUTH).status_code == 400


def test_notifications_move_over_time_and_cancel_lag(sb: SandboxServer) -> None:
    sb.admin("POST", "/config", {"onesignal": {"cancel_lag_s": 5}})
    seed(sb, {"id": "n1", "send_in_s": 10, "total": 100, "per_s": 10})
    assert status(sb, "n1") == "scheduled"
    sb.admin("POST", "/time", {"advance_s": 12})
    assert status(sb, "n1") == "sending"
    requests.delete(url(sb, "n1"), headers=AUTH)
    before = requests.get(url(sb, "n1"), headers=AUTH).json()["successful"]
    sb.admin("POST", "/time", {"advance_s": 3})
    assert requests.get(url(sb, "n1"), headers=AUTH).json()["successful"] > before  # the lag still delivers
    seed(sb, {"id": "n2", "status": "sending", "total": 10, "per_s": 10})
    sb.admin("POST", "/time", {"advance_s": 2})
    assert status(sb, "n2") == "completed"


def test_create_with_idempotency_key_list_and_rate_limit(sb: SandboxServer) -> None:
    create = f"{sb.vendor_url('onesignal')}/notifications"
    body = {"app_id": APP, "contents": {"en": "hi"}, "idempotency_key": "k1"}
    first, again = (requests.post(create, json=body, headers=AUTH).json() for _ in range(2))
    assert first == again and len(sb.admin("GET", "/onesignal/state")["notifications"]) == 1
    page = requests.get(f"{create}?app_id={APP}&limit=1", headers=AUTH).json()
    assert page["total_count"] == 1 and len(page["notifications"]) == 1
    sb.admin("POST", "/config", {"onesignal": {"rate_limit_per_second": 1}})
    answers = [requests.get(f"{create}?app_id={APP}&limit=1", headers=AUTH) for _ in range(2)]
    assert answers[1].status_code == 429 and answers[1].json() == {"errors": ["API rate limit exceeded."]}
    assert "retry-after" in answers[1].headers and "ratelimit-limit" not in answers[0].headers


# ----------------------------------------------------------------------------- the hook against each reading
@pytest.fixture()
def hook(sb: SandboxServer, set_conn: Any) -> Any:
    from airflow_provider_cancel.hooks.onesignal import OneSignalHook

    set_conn("onesignal_default", "onesignal", sb.vendor_url("onesignal"), KEY, app_id=APP)
    return OneSignalHook(retry_limit=2)


@pytest.mark.parametrize(("sent_status", "recancel"), [(400, "200"), (400, "400"), (200, "200")])
def test_hook_under_each_reading(sb: SandboxServer, hook: Any, sent_status: int, recancel: str) -> None:
    from airflow_provider_cancel.exceptions import CampaignFinishedError

    sb.admin("POST", "/config", {"onesignal": {"sent_status": sent_status, "recancel": recancel}})
    seed(
        sb,
        {"id": "live", "status": "sending"},
        {"id": "done", "status": "completed"},
        {"id": "old", "status": "canceled"},
    )
    assert hook.cancel_notification("live").outcome.value == "cancelled"
    assert hook.get_status(notification_id="live").is_cancelled
    assert hook.cancel_notification("old").outcome.value == ("already_cancelled" if recancel == "400" else "cancelled")
    if sent_status == 400:
        with pytest.raises(CampaignFinishedError):
            hook.cancel_notification("done")
    else:  # a 200 that changed nothing: the wait after it fails, as the status shows it completed
        assert hook.cancel_notification("done").outcome.value == "cancelled"
        assert hook.get_status(notification_id="done").state.value == "completed"


def test_hook_test_connection_against_the_sandbox(sb: SandboxServer, hook: Any, set_conn: Any) -> None:
    from airflow_provider_cancel.hooks.onesignal import OneSignalHook

    assert hook.test_connection()[0]
    set_conn("os_legacy", "onesignal", sb.vendor_url("onesignal"), "os_legacy_sandbox_key", app_id=APP, scheme="basic")
    assert OneSignalHook("os_legacy").test_connection()[0]
    set_conn("os_wrong", "onesignal", sb.vendor_url("onesignal"), "os_legacy_sandbox_key", app_id=APP)
    ok, message = OneSignalHook("os_wrong").test_connection()
    assert not ok and "401" in message

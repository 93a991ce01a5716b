"""The Customer.io part of the sandbox, over real HTTP; then the hook against each of its readings."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "cio_sandbox_app_key"


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    server.admin("POST", "/config", {"customerio": {"rate_limit_per_second": 0}})
    return server


@pytest.fixture()
def api(bearer_session: Any) -> Any:
    return bearer_session(KEY)


def seed(sb: SandboxServer, *triggers: dict[str, Any]) -> list[dict[str, Any]]:
    return sb.admin("POST", "/customerio/seed", {"triggers": list(triggers)})["triggers"]


def url(sb: SandboxServer, t: dict[str, Any], suffix: str = "") -> str:
    return f"{sb.vendor_url('customerio')}/campaigns/{t['broadcast_id']}/triggers/{t['id']}{suffix}"


def phase(sb: SandboxServer, t: dict[str, Any]) -> str:
    return next(x["phase"] for x in sb.admin("GET", "/customerio/state")["triggers"] if x["id"] == t["id"])


def test_bearer_app_key_only_errors_are_an_errors_list_and_the_key_is_never_logged(sb: SandboxServer) -> None:
    (t,) = seed(sb, {"broadcast_id": 3, "id": 12})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
        r = requests.get(url(sb, t), headers=headers)
        assert r.status_code == 401 and r.json() == {"errors": [{"detail": "unauthorized", "status": "401"}]}
    assert requests.get(url(sb, t), headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert KEY not in json.dumps(sb.admin("GET", "/requests?vendor=customerio"))


def test_cancel_a_scheduled_trigger_answers_the_documented_trigger(sb: SandboxServer, api: Any) -> None:
    (t,) = seed(sb, {"broadcast_id": 3, "id": 12})
    r = api.post(url(sb, t, "/cancel"))
    assert r.status_code == 200
    body = r.json()["trigger"]
    assert set(body) >= {
        "broadcast_id",
        "cancelled_at",
        "created_at",
        "expires_after",
        "id",
        "processed_at",
        "scheduled_at",
    }
    assert (
        body["processed_at"] == 0 and abs(body["cancelled_at"] - time.time()) < 5 and body["scheduled_at"] > time.time()
    )
    assert phase(sb, t) == "cancelled"


@pytest.mark.parametrize("status", ["resolving", "sending", "sent"])
def test_cancel_once_it_fired_is_409(sb: SandboxServer, api: Any, status: str) -> None:
    (t,) = seed(sb, {"broadcast_id": 3, "status": status})
    r = api.post(url(sb, t, "/cancel"))
    assert r.status_code == 409 and r.json()["errors"][0]["status"] == "409"
    assert phase(sb, t) == status


def test_a_trigger_with_a_rate_limit_can_be_cancelled_while_it_sends(sb: SandboxServer, api: Any) -> None:
    (t,) = seed(sb, {"broadcast_id": 3, "status": "sending", "rate_limit": 10})
    body = api.post(url(sb, t, "/cancel")).json()["trigger"]
    assert body["processed_at"] > 0 and body["cancelled_at"] >= body["processed_at"]


@pytest.mark.parametrize(("recancel", "status"), [("200", 200), ("409", 409), ("404", 404)])
def test_recancel_is_configurable(sb: SandboxServer, api: Any, recancel: str, status: int) -> None:
    sb.admin("POST", "/config", {"customerio": {"recancel": recancel}})
    (t,) = seed(sb, {"broadcast_id": 3, "status": "cancelled"})
    r = api.post(url(sb, t, "/cancel"))
    assert r.status_code == status
    if status == 200:
        assert r.json()["trigger"]["cancelled_at"] < time.time() - 30  # unchanged: cancelled a minute ago


def test_trigger_read_documented_and_full(sb: SandboxServer, api: Any) -> None:
    (t,) = seed(sb, {"broadcast_id": 3, "id": 12, "status": "cancelled"})
    assert set(api.get(url(sb, t)).json()["trigger"]) == {"id", "broadcast_id", "created_at", "processed_at"}
    sb.admin("POST", "/config", {"customerio": {"trigger_fields": "full"}})
    assert api.get(url(sb, t)).json()["trigger"]["cancelled_at"] > 0


def test_triggers_move_over_time(sb: SandboxServer, api: Any) -> None:
    (t,) = seed(sb, {"broadcast_id": 3, "scheduled_in_s": 60, "resolve_s": 5, "send_s": 5})
    assert phase(sb, t) == "scheduled"
    sb.admin("POST", "/time", {"advance_s": 62})
    assert phase(sb, t) == "resolving" and api.get(url(sb, t)).json()["trigger"]["processed_at"] == 0
    sb.admin("POST", "/time", {"advance_s": 5})
    assert phase(sb, t) == "sending" and api.get(url(sb, t)).json()["trigger"]["processed_at"] > 0
    sb.admin("POST", "/time", {"advance_s": 6})
    assert phase(sb, t) == "sent"


def test_trigger_a_broadcast_once_per_10_seconds_and_unknown_ids(sb: SandboxServer, api: Any) -> None:
    base = f"{sb.vendor_url('customerio')}/campaigns/7/triggers"
    first = api.post(base, json={"scheduled_at": int(time.time()) + 600})
    assert first.status_code == 200 and first.json()["id"] > 0
    assert api.post(base, json={}).status_code == 429
    assert api.post(f"{base}/999/cancel").status_code == 404
    assert api.post(f"{sb.vendor_url('customerio')}/campaigns/x/triggers/1/cancel").status_code == 400


def test_rate_limit_10_per_second_with_retry_after_and_no_ratelimit_headers(sb: SandboxServer, api: Any) -> None:
    sb.admin("POST", "/config", {"customerio": {"rate_limit_per_second": 10}})
    answers = [api.get(f"{sb.vendor_url('customerio')}/workspaces") for _ in range(11)]
    assert [r.status_code for r in answers].count(429) >= 1
    limited = next(r for r in answers if r.status_code == 429)
    assert limited.json() == {"errors": [{"detail": "over the 10-per-second limit", "status": "429"}]}
    assert "retry-after" in limited.headers and "ratelimit-limit" not in answers[0].headers


def test_admin_validation(sb: SandboxServer) -> None:
    for bad in ({"triggers": [{"status": "paused"}]}, {"triggers": [{"broadcast_id": "3"}]}, {"nope": 1}):
        with pytest.raises(Exception, match="400"):
            sb.admin("POST", "/customerio/seed", bad)
    with pytest.raises(Exception, match="400"):
        sb.admin("POST", "/config", {"customerio": {"recancel": "500"}})


# ----------------------------------------------------------------------------- the hook against each reading
@pytest.fixture()
def hook(sb: SandboxServer, set_conn: Any) -> Any:
    from airflow_provider_cancel.hooks.customerio import CustomerIoHook

    set_conn("customerio_default", "customerio", f"{sb.url}/customerio", KEY)
    return CustomerIoHook(retry_limit=2)


@pytest.mark.parametrize("fields", ["documented", "full"])
def test_hook_cancel_then_status_under_both_trigger_reads(sb: SandboxServer, hook: Any, fields: str) -> None:
    sb.admin("POST", "/config", {"customerio": {"trigger_fields": fields}})
    (t,) = seed(sb, {"broadcast_id": 3, "id": 12})
    result = hook.cancel_trigger("3", "12")
    assert result.outcome.value == "cancelled"
    bare = hook.get_status(broadcast_id="3", trigger_id="12")
    # The documented read cannot show a cancel: without the cancel's answer it reads as pending.
    assert bare.raw_status == ("cancelled" if fields == "full" else "pending")
    confirmed = hook.get_status(broadcast_id="3", trigger_id="12", cancelled_at=result.detail["cancelled_at"])
    assert confirmed.state.value == "cancelled"


@pytest.mark.parametrize(
    ("recancel", "fields", "outcome"),
    [("200", "documented", "already_cancelled"), ("409", "full", "already_cancelled")],
)
def test_hook_reads_an_earlier_cancel_as_already_cancelled(
    sb: SandboxServer, hook: Any, recancel: str, fields: str, outcome: str
) -> None:
    sb.admin("POST", "/config", {"customerio": {"recancel": recancel, "trigger_fields": fields}})
    seed(sb, {"broadcast_id": 3, "id": 12, "status": "cancelled"})
    assert hook.cancel_trigger("3", "12").outcome.value == outcome


def test_hook_409_with_the_documented_read_cannot_tell_and_fails_loudly(sb: SandboxServer, hook: Any) -> None:
    from airflow_provider_cancel.exceptions import VendorAPIError

    sb.admin("POST", "/config", {"customerio": {"recancel": "409"}})
    seed(sb, {"broadcast_id": 3, "id": 12, "status": "cancelled"})
    with pytest.raises(VendorAPIError) as err:
        hook.cancel_trigger("3", "12")
    assert err.value.status_code == 409 and "'pending'" in str(err.value)


def test_hook_sent_trigger_is_campaign_finished(sb: SandboxServer, hook: Any) -> None:
    from airflow_provider_cancel.exceptions import CampaignFinishedError

    seed(sb, {"broadcast_id": 3, "id": 12, "status": "sent"})
    with pytest.raises(CampaignFinishedError):
        hook.cancel_trigger("3", "12")

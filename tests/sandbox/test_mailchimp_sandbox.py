"""The Mailchimp part of the sandbox, over real HTTP; then the hook and trigger against it, under each reading."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "mc_sandbox_key-us1"
TOKEN = "mc_sandbox_oauth_token"


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    return server


@pytest.fixture()
def api() -> Any:
    session = requests.Session()
    session.auth = ("anystring", KEY)
    yield session
    session.close()


def seed(sb: SandboxServer, *campaigns: dict[str, Any]) -> list[dict[str, Any]]:
    return sb.admin("POST", "/mailchimp/seed", {"campaigns": list(campaigns)})["campaigns"]


def url(sb: SandboxServer, path: str) -> str:
    return f"{sb.vendor_url('mailchimp')}{path}"


def act(api: requests.Session, sb: SandboxServer, campaign_id: str, action: str) -> requests.Response:
    return api.post(url(sb, f"/campaigns/{campaign_id}/actions/{action}"))


def status(api: requests.Session, sb: SandboxServer, campaign_id: str) -> str:
    return api.get(url(sb, f"/campaigns/{campaign_id}"), params={"fields": "status"}).json()["status"]


def test_basic_auth_with_any_user_or_a_bearer_oauth_token(sb: SandboxServer) -> None:
    seed(sb, {"id": "c1", "status": "sending"})
    for auth in (None, ("anystring", "wrong-us1"), ("anystring", TOKEN)):
        r = requests.get(url(sb, "/ping"), auth=auth)
        assert r.status_code == 401 and r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["title"] == "API Key Invalid" and r.json()["status"] == 401
    assert requests.get(url(sb, "/ping"), headers={"Authorization": f"Bearer {KEY}"}).status_code == 401
    assert requests.get(url(sb, "/ping"), auth=("whoever", KEY)).json() == {"health_status": "Everything's Chimpy!"}
    assert requests.get(url(sb, "/ping"), headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert KEY not in json.dumps(sb.admin("GET", "/requests?vendor=mailchimp"))


def test_cancel_send_goes_canceling_then_canceled(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "sending", "send_duration_s": None}, {"id": "c2", "status": "sending"})
    r = act(api, sb, "c1", "cancel-send")
    assert r.status_code == 204 and r.content == b""
    assert status(api, sb, "c1") == "canceling"
    sb.admin("POST", "/time", {"advance_s": 2.1})
    assert status(api, sb, "c1") == "canceled"
    again = act(api, sb, "c1", "cancel-send")
    assert again.status_code == 400 and "canceled" in again.json()["detail"]
    assert status(api, sb, "c2") == "sending"
    assert api.get(url(sb, "/campaigns/c1"), params={"fields": "id,status"}).json() == {
        "id": "c1",
        "status": "canceled",
    }


def test_unschedule_makes_a_draft_and_refuses_a_sending_campaign(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "s1", "status": "schedule"}, {"id": "c1", "status": "sending"})
    assert act(api, sb, "s1", "unschedule").status_code == 204
    assert status(api, sb, "s1") == "save"
    assert act(api, sb, "s1", "unschedule").status_code == 400
    refused = act(api, sb, "c1", "unschedule")
    assert refused.status_code == 400 and refused.json()["detail"].endswith("its status is sending.")
    assert act(api, sb, "s1", "cancel-send").status_code == 400  # a draft is not sending
    calls = sb.admin("GET", "/mailchimp/state")["cancel_calls"]
    assert [(c["campaign_id"], c["action"], c["result"]) for c in calls] == [
        ("s1", "unschedule", "unscheduled"),
        ("s1", "unschedule", "not_scheduled"),
        ("c1", "unschedule", "not_scheduled"),
        ("s1", "cancel-send", "not_sending"),
    ]


def test_cancel_send_needs_a_regular_campaign_and_the_pro_plan(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "rss", "status": "sending", "type": "rss"}, {"id": "c1", "status": "sending"})
    assert act(api, sb, "rss", "cancel-send").status_code == 400
    sb.admin("POST", "/config", {"mailchimp": {"refusal_detail": "generic"}})
    assert act(api, sb, "rss", "cancel-send").json()["detail"] == "Bad Request"
    sb.admin("POST", "/config", {"mailchimp": {"pro_plan": False}})
    assert act(api, sb, "c1", "cancel-send").status_code == 403
    assert act(api, sb, "nope", "cancel-send").status_code == 404


def test_campaigns_move_over_time(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "s1", "status": "schedule", "send_in_s": 60, "send_duration_s": 30})
    assert status(api, sb, "s1") == "schedule"
    sb.admin("POST", "/time", {"advance_s": 61})
    assert status(api, sb, "s1") == "sending"
    sb.admin("POST", "/time", {"advance_s": 30})
    assert status(api, sb, "s1") == "sent"
    assert act(api, sb, "s1", "cancel-send").status_code == 400


def test_too_many_connections_is_429_without_rate_limit_headers(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"mailchimp": {"connections_in_use": 10}})
    r = api.get(url(sb, "/ping"))
    assert r.status_code == 429 and "10 simultaneous connections" in r.json()["detail"]
    assert not [h for h in r.headers if h.lower().startswith(("ratelimit", "x-ratelimit", "retry-after"))]
    sb.admin("POST", "/config", {"mailchimp": {"connections_in_use": 9}})
    assert api.get(url(sb, "/ping")).status_code == 200


def test_admin_validation_and_advance(sb: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="400"):
        sb.admin("POST", "/config", {"mailchimp": {"refusal_detail": "chatty"}})
    with pytest.raises(RuntimeError, match="400"):
        seed(sb, {"status": "cancelled"})  # Mailchimp spells it canceled
    seed(sb, {"id": "c1", "status": "canceling"})
    assert sb.admin("POST", "/mailchimp/advance", {"id": "c1"})["campaign"]["status"] == "canceled"


def hook(set_conn: Any, sb: SandboxServer, password: str = KEY, **extra: Any) -> Any:
    from airflow_provider_cancel.hooks.mailchimp import MailchimpHook

    set_conn("mailchimp_default", "mailchimp", sb.vendor_url("mailchimp"), password=password, **extra)
    return MailchimpHook()


def test_hook_and_trigger_through_canceling(sb: SandboxServer, set_conn: Any) -> None:
    from airflow_provider_cancel.status import CancelOutcome
    from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger

    sb.admin("POST", "/config", {"mailchimp": {"canceling_s": 1.5}})
    seed(sb, {"id": "c1", "status": "sending", "send_duration_s": None}, {"id": "c2", "status": "sending"})
    h = hook(set_conn, sb)
    assert h.test_connection()[0]
    result = h.cancel_campaign("c1", action="cancel_send")
    assert result.outcome is CancelOutcome.CANCELLED
    now = h.get_status("c1")
    assert (now.raw_status, now.state.value) == ("canceling", "active")  # not done yet: keep waiting
    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.mailchimp.MailchimpHook",
        conn_id="mailchimp_default",
        target={"campaign_id": "c1"},
        poll_interval=0.5,
    )

    async def first_event() -> dict[str, Any]:
        return (await trigger.run().__anext__()).payload

    started = time.monotonic()
    event = asyncio.run(first_event())
    assert event["status"] == "success" and event["campaign_status"]["raw_status"] == "canceled"
    assert 0.5 < time.monotonic() - started < 10
    assert h.cancel_campaign("c1", action="cancel_send").outcome is CancelOutcome.ALREADY_CANCELLED
    assert h.get_status("c2").raw_status == "sending"


@pytest.mark.parametrize("refusal_detail", ["state", "generic"])
def test_hook_outcomes_under_each_reading(sb: SandboxServer, set_conn: Any, refusal_detail: str) -> None:
    from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
    from airflow_provider_cancel.status import CancelOutcome

    sb.admin("POST", "/config", {"mailchimp": {"refusal_detail": refusal_detail}})
    seed(sb, {"id": "sent", "status": "sent"}, {"id": "s1", "status": "schedule"}, {"id": "c1", "status": "sending"})
    h = hook(set_conn, sb)
    with pytest.raises(CampaignFinishedError, match="status 'sent'"):
        h.cancel_campaign("sent", action="cancel_send")
    assert h.cancel_campaign("s1", action="unschedule").outcome is CancelOutcome.CANCELLED
    assert h.cancel_campaign("s1", action="unschedule").outcome is CancelOutcome.ALREADY_CANCELLED  # a draft now
    with pytest.raises(VendorAPIError, match="use action 'cancel_send'") as err:
        h.cancel_campaign("c1", action="unschedule")  # never turned into a cancel-send
    assert err.value.status_code == 400
    with pytest.raises(VendorAPIError, match="a draft: nothing is being sent"):
        h.cancel_campaign("s1", action="cancel_send")
    actions = [c["action"] for c in sb.admin("GET", "/mailchimp/state")["cancel_calls"]]
    assert actions == ["cancel-send", "unschedule", "unschedule", "unschedule", "cancel-send"]


def test_hook_with_an_oauth_token_and_a_data_centre(sb: SandboxServer, set_conn: Any) -> None:
    seed(sb, {"id": "c1", "status": "sending"})
    h = hook(set_conn, sb, password=TOKEN, data_center="us1")
    assert h.get_status("c1").raw_status == "sending"
    sent = [e for e in sb.admin("GET", "/requests?vendor=mailchimp")["requests"] if e["method"] == "GET"]
    assert sent and all(e["auth_valid"] for e in sent)


def test_hook_retries_too_many_connections(sb: SandboxServer, set_conn: Any, no_sleep: list[float]) -> None:
    seed(sb, {"id": "c1", "status": "sending"})
    sb.admin("POST", "/mailchimp/faults", {"fail_next": 2, "status": 429})
    assert hook(set_conn, sb).cancel_campaign("c1", action="cancel_send").outcome.value == "cancelled"
    assert len(no_sleep) == 2  # exponential backoff: Mailchimp sends no Retry-After


def test_hook_under_the_other_readings_200_answers_and_a_bare_403(sb: SandboxServer, set_conn: Any) -> None:
    from airflow_provider_cancel.exceptions import VendorAPIError
    from airflow_provider_cancel.status import CancelOutcome

    sb.admin("POST", "/config", {"mailchimp": {"action_status": 200}})
    seed(sb, {"id": "c1", "status": "sending"}, {"id": "s1", "status": "schedule"})
    h = hook(set_conn, sb)
    assert h.cancel_campaign("c1", action="cancel_send").outcome is CancelOutcome.CANCELLED
    assert h.cancel_campaign("s1", action="unschedule").outcome is CancelOutcome.CANCELLED
    sb.admin("POST", "/config", {"mailchimp": {"over_limit_status": 403, "connections_in_use": 10}})
    sb.admin("DELETE", "/requests")
    with pytest.raises(VendorAPIError) as err:
        h.get_status("c1")
    assert err.value.status_code == 403 and err.value.is_permanent_client_error
    assert len(sb.admin("GET", "/requests?vendor=mailchimp")["requests"]) == 1  # a 403 is not retried

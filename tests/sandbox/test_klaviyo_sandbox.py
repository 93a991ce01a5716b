"""The Klaviyo part of the sandbox, over real HTTP; then the hook and trigger against it, under each reading."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "pk_klaviyo_sandbox_key"
HEADERS = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-07-15"}


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    """Reset, with the 10/s burst window off: these tests ask faster than that (the rate-limit test turns it on)."""
    server.admin("POST", "/reset")
    server.admin("POST", "/config", {"klaviyo": {"burst_per_second": 0}})
    return server


@pytest.fixture()
def api() -> Any:
    session = requests.Session()
    session.headers.update(HEADERS)
    yield session
    session.close()


def seed(sb: SandboxServer, *campaigns: dict[str, Any]) -> list[dict[str, Any]]:
    return sb.admin("POST", "/klaviyo/seed", {"campaigns": list(campaigns)})["campaigns"]


def url(sb: SandboxServer, path: str) -> str:
    return f"{sb.vendor_url('klaviyo')}{path}"


def patch(api: requests.Session, sb: SandboxServer, campaign_id: str, action: str = "cancel") -> requests.Response:
    body = {"data": {"type": "campaign-send-job", "id": campaign_id, "attributes": {"action": action}}}
    return api.patch(
        url(sb, f"/campaign-send-jobs/{campaign_id}"),
        data=json.dumps(body),
        headers={"Content-Type": "application/vnd.api+json"},
    )


def statuses(api: requests.Session, sb: SandboxServer, campaign_id: str) -> tuple[str, str | None]:
    campaign = api.get(url(sb, f"/campaigns/{campaign_id}")).json()["data"]["attributes"]["status"]
    job = api.get(url(sb, f"/campaign-send-jobs/{campaign_id}"))
    return campaign, job.json()["data"]["attributes"]["status"] if job.status_code == 200 else None


def test_auth_scheme_key_and_revision_header(sb: SandboxServer) -> None:
    seed(sb, {"id": "c1", "status": "Sending"})
    for headers in ({}, {"Authorization": f"Bearer {KEY}"}, {"Authorization": "Klaviyo-API-Key pk_wrong"}):
        r = requests.get(url(sb, "/campaigns/c1"), headers={**headers, "revision": "2026-07-15"})
        assert r.status_code == 401
        (error,) = r.json()["errors"]
        assert error["code"] == "not_authenticated" and error["status"] == 401 and error["detail"]
    r = requests.get(url(sb, "/campaigns/c1"), headers={"Authorization": f"Klaviyo-API-Key {KEY}"})
    assert r.status_code == 400 and "revision" in r.json()["errors"][0]["detail"]
    assert requests.get(url(sb, "/accounts"), headers=HEADERS).json()["data"][0]["type"] == "account"
    assert KEY not in json.dumps(sb.admin("GET", "/requests?vendor=klaviyo"))


def test_cancel_mid_send_then_recancel_is_refused_or_accepted(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "Sending"}, {"id": "c2", "status": "Sending"})
    assert statuses(api, sb, "c1") == ("Sending", "processing")
    r = patch(api, sb, "c1")
    assert r.status_code == 204 and r.content == b""
    assert statuses(api, sb, "c1") == ("Cancelled", "cancelled")
    again = patch(api, sb, "c1")
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "invalid"
    sb.admin("POST", "/config", {"klaviyo": {"recancel": "accept"}})
    assert patch(api, sb, "c1").status_code == 204
    assert statuses(api, sb, "c2") == ("Sending", "processing")  # the bystander is untouched
    calls = sb.admin("GET", "/klaviyo/state")["cancel_calls"]
    assert [(c["result"], c["content_type"]) for c in calls] == [
        ("cancelled", "application/vnd.api+json"),
        ("already_cancelled", "application/vnd.api+json"),
        ("unchanged", "application/vnd.api+json"),
    ]


@pytest.mark.parametrize("refusal", [400, 409, 422])
def test_cancel_of_a_sent_campaign_is_refused_with_the_configured_status(
    sb: SandboxServer, api: requests.Session, refusal: int
) -> None:
    sb.admin("POST", "/config", {"klaviyo": {"refusal_status": refusal}})
    seed(sb, {"id": "c1", "status": "Sent"}, {"id": "d1", "status": "Draft"})
    r = patch(api, sb, "c1")
    assert r.status_code == refusal and "complete" in r.json()["errors"][0]["detail"]
    assert statuses(api, sb, "c1") == ("Sent", "complete")
    assert patch(api, sb, "d1").status_code == 404  # a draft has no send job
    assert patch(api, sb, "nope").status_code == 404


def test_revert_before_sending_gives_a_draft_and_is_refused_mid_send(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "s1", "status": "Scheduled"}, {"id": "c1", "status": "Sending"})
    assert patch(api, sb, "s1", "revert").status_code == 204
    assert statuses(api, sb, "s1") == ("Draft", "cancelled")
    assert patch(api, sb, "c1", "revert").status_code == 400
    sb.admin("POST", "/config", {"klaviyo": {"revert_while_sending": True}})
    assert patch(api, sb, "c1", "revert").status_code == 204


def test_the_patch_body_is_checked(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "Sending"})
    path = url(sb, "/campaign-send-jobs/c1")
    assert (
        api.patch(path, json={"data": {"type": "campaign", "id": "c1", "attributes": {"action": "cancel"}}}).status_code
        == 400
    )
    assert (
        api.patch(
            path, json={"data": {"type": "campaign-send-job", "id": "c2", "attributes": {"action": "cancel"}}}
        ).status_code
        == 409
    )
    assert (
        api.patch(
            path, json={"data": {"type": "campaign-send-job", "id": "c1", "attributes": {"action": "stop"}}}
        ).status_code
        == 400
    )
    assert statuses(api, sb, "c1") == ("Sending", "processing")


def test_campaigns_move_over_time_and_a_cancel_can_settle(sb: SandboxServer, api: requests.Session) -> None:
    seed(
        sb,
        {"id": "s1", "status": "Scheduled", "send_in_s": 60, "send_duration_s": 30},
        {"id": "c1", "status": "Sending", "send_duration_s": None},  # sends until advanced
    )
    assert statuses(api, sb, "s1") == ("Scheduled", "queued")
    sb.admin("POST", "/time", {"advance_s": 61})
    assert statuses(api, sb, "s1") == ("Sending", "processing")
    sb.admin("POST", "/time", {"advance_s": 30})
    assert statuses(api, sb, "s1") == ("Sent", "complete")

    sb.admin("POST", "/config", {"klaviyo": {"cancel_settle_s": 20}})
    assert patch(api, sb, "c1").status_code == 204
    assert statuses(api, sb, "c1") == ("Cancelled", "processing")  # the job drains what was handed over
    sb.admin("POST", "/config", {"klaviyo": {"settle_campaign_status": "Sending"}})
    sb.admin("POST", "/time", {"advance_s": 21})
    assert statuses(api, sb, "c1") == ("Cancelled", "cancelled")


def test_burst_and_steady_windows_429_without_ratelimit_headers(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/reset")  # the documented defaults: 10/s burst, 150/min steady
    seed(sb, {"id": "c1", "status": "Sending"})
    answers = [api.get(url(sb, "/campaigns/c1")) for _ in range(11)]
    assert [r.status_code for r in answers[:10]] == [200] * 10
    assert answers[0].headers["RateLimit-Limit"] == "10" and answers[9].headers["RateLimit-Remaining"] == "0"
    limited = answers[10]
    assert limited.status_code == 429 and limited.json()["errors"][0]["code"] == "throttled"
    assert "RateLimit-Limit" not in limited.headers and int(limited.headers["Retry-After"]) >= 1

    sb.admin("POST", "/reset")
    sb.admin(
        "POST", "/config", {"klaviyo": {"burst_per_second": 0, "steady_per_minute": 3, "retry_after_on_429": False}}
    )
    seed(sb, {"id": "c1", "status": "Sending"})
    answers = [api.get(url(sb, "/campaigns/c1")) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Reset"] == "60" and "Retry-After" not in answers[3].headers


def test_admin_validation_and_advance(sb: SandboxServer) -> None:
    with pytest.raises(RuntimeError, match="400"):
        sb.admin("POST", "/config", {"klaviyo": {"refusal_status": 418}})
    with pytest.raises(RuntimeError, match="400"):
        seed(sb, {"status": "Teleported"})
    seed(sb, {"id": "c1", "status": "Scheduled"})
    assert sb.admin("POST", "/klaviyo/advance", {"id": "c1"})["campaign"]["status"] == "Sending"
    assert (
        sb.admin("POST", "/klaviyo/advance", {"id": "c1", "status": "Cancelled: No Recipients"})["campaign"][
            "job_status"
        ]
        == "cancelled"
    )


def test_hook_and_trigger_against_the_sandbox(sb: SandboxServer, set_conn: Any) -> None:
    """The sync cancel and status (two GETs), then the async trigger path, over real HTTP."""
    from airflow_provider_cancel.hooks.klaviyo import KlaviyoHook
    from airflow_provider_cancel.status import CancelOutcome
    from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger

    set_conn("klaviyo_default", "klaviyo", sb.vendor_url("klaviyo"), password=KEY)
    sb.admin("POST", "/config", {"klaviyo": {"cancel_settle_s": 1.5}})
    seed(sb, {"id": "c1", "status": "Sending"}, {"id": "c2", "status": "Sending"})
    assert KlaviyoHook().test_connection()[0]
    result = KlaviyoHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.CANCELLED and result.target == {"campaign_id": "c1", "action": "cancel"}
    status = KlaviyoHook().get_status("c1")
    assert (status.raw_status, status.extra["send_job_status"], status.state.value) == (
        "Cancelled",
        "processing",
        "active",  # cancelled, but the send job is still draining: not done yet
    )
    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.klaviyo.KlaviyoHook",
        conn_id="klaviyo_default",
        target={"campaign_id": "c1"},
        poll_interval=0.5,
    )

    async def first_event() -> dict[str, Any]:
        return (await trigger.run().__anext__()).payload

    started = time.monotonic()
    event = asyncio.run(first_event())
    assert event["status"] == "success" and event["campaign_status"]["state"] == "cancelled"
    assert 0.5 < time.monotonic() - started < 10
    assert KlaviyoHook().cancel_campaign("c1").outcome is CancelOutcome.ALREADY_CANCELLED  # refused, then read
    assert KlaviyoHook().get_status("c2").state.value == "active"


@pytest.mark.parametrize("refusal", [400, 409, 422])
@pytest.mark.parametrize("recancel", ["refuse", "accept"])
def test_hook_outcomes_under_each_reading(sb: SandboxServer, set_conn: Any, refusal: int, recancel: str) -> None:
    from airflow_provider_cancel.exceptions import CampaignFinishedError
    from airflow_provider_cancel.hooks.klaviyo import KlaviyoHook
    from airflow_provider_cancel.status import CancelOutcome

    set_conn("klaviyo_default", "klaviyo", sb.vendor_url("klaviyo"), password=KEY)
    sb.admin("POST", "/config", {"klaviyo": {"refusal_status": refusal, "recancel": recancel}})
    seed(
        sb,
        {"id": "gone", "status": "Cancelled"},
        {"id": "sent", "status": "Variations Sent"},
        {"id": "s1", "status": "Scheduled"},
    )
    hook = KlaviyoHook()
    expected = CancelOutcome.ALREADY_CANCELLED if recancel == "refuse" else CancelOutcome.CANCELLED
    assert hook.cancel_campaign("gone").outcome is expected
    with pytest.raises(CampaignFinishedError, match="already been sent"):
        hook.cancel_campaign("sent")
    assert hook.cancel_campaign("s1", action="revert").outcome is CancelOutcome.CANCELLED
    assert hook.cancel_campaign("s1", action="revert").outcome is expected  # a draft now: nothing left to do
    posts = [r for r in sb.admin("GET", "/requests?vendor=klaviyo")["requests"] if r["method"] == "PATCH"]
    assert len(posts) == 4  # a refusal is read, never repeated

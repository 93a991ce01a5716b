"""The Loop Health comms part of the sandbox, over real HTTP; then the hook and trigger against it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

TOKEN = "lph_at_sandbox_token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CAMPAIGN_KEYS = {
    "id",
    "brand_id",
    "name",
    "subject",
    "channel",
    "template_key",
    "segment_criteria",
    "variables",
    "status",
    "scheduled_at",
    "sent_at",
    "cancelled_at",
    "created_by",
    "created_at",
    "updated_at",
}
SEND_KEYS = {
    "id",
    "campaign_id",
    "brand_id",
    "status",
    "total_recipients",
    "sent",
    "failed",
    "started_at",
    "completed_at",
    "created_by",
    "created_at",
}


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    return server


@pytest.fixture()
def api(bearer_session: Any) -> Any:
    return bearer_session(TOKEN)


def seed(sb: SandboxServer, *campaigns: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return sb.admin("POST", "/loop/seed", {"campaigns": list(campaigns), **extra})["campaigns"]


def url(sb: SandboxServer, campaign_id: str = "", suffix: str = "") -> str:
    base = f"{sb.vendor_url('loop')}/v1/admin/campaigns"
    return f"{base}/{campaign_id}{suffix}" if campaign_id else base


def state_of(sb: SandboxServer, campaign_id: str) -> dict[str, Any]:
    return next(c for c in sb.admin("GET", "/loop/state")["campaigns"] if c["id"] == campaign_id)


# ----------------------------------------------------------------------------- auth
def test_wrong_or_missing_token_is_401_unscoped_token_is_403(sb: SandboxServer) -> None:
    (c,) = seed(sb, {"id": "c1", "status": "sending"})
    for headers in ({}, {"Authorization": "Bearer lph_at_wrong"}, {"Authorization": TOKEN}):
        r = requests.post(url(sb, "c1", "/cancel"), headers=headers)
        assert r.status_code == 401
        assert r.json() == {"error": "unauthorized", "message": "Missing or invalid access token"}
    r = requests.get(url(sb, "c1", "/history"), headers={"Authorization": "Bearer lph_at_sandbox_unscoped"})
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert state_of(sb, "c1")["status"] == "sending"  # nothing was cancelled
    assert sb.admin("GET", "/loop/state")["cancel_calls"] == []
    log = json.dumps(sb.admin("GET", "/requests?vendor=loop"))
    assert TOKEN not in log and "lph_at_wrong" not in log


# --------------------------------------------------------------------- create / send / history
def test_create_send_history_and_progress_to_sent(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"loop": {"send_duration_s": 60}})
    r = api.post(url(sb), json={"brand_id": "b1", "name": "Launch", "subject": "Hi", "template_key": "t1"})
    assert r.status_code == 201 and set(r.json()["campaign"]) == CAMPAIGN_KEYS
    created = r.json()["campaign"]
    assert created["status"] == "draft" and created["channel"] == "email" and created["cancelled_at"] is None
    assert api.post(url(sb), json={"name": "x"}).status_code == 400

    cid = created["id"]
    assert api.get(url(sb, cid, "/history")).json() == {"sends": []}
    recipients = [{"person_id": f"p{i}", "recipient": f"p{i}@example.com"} for i in range(10)]
    r = api.post(url(sb, cid, "/send"), json={"recipients": recipients})
    assert r.status_code == 200 and set(r.json()["send"]) == SEND_KEYS
    sent = r.json()["send"]
    assert sent["status"] == "sending" and sent["total_recipients"] == 10 and sent["completed_at"] is None
    r = api.post(url(sb, cid, "/send"), json={"recipients": recipients})
    assert r.status_code == 409 and r.json() == {"error": "conflict", "message": "Campaign already sent"}
    assert api.post(url(sb, cid, "/send"), json={"recipients": []}).status_code == 400
    assert api.post(url(sb, "nope", "/send"), json={"recipients": recipients}).status_code == 404

    sb.admin("POST", "/time", {"advance_s": 30})
    (half,) = api.get(url(sb, cid, "/history")).json()["sends"]
    assert half["completed_at"] is None and half["sent"] == 5  # linear progress
    sb.admin("POST", "/time", {"advance_s": 31})
    (done,) = api.get(url(sb, cid, "/history")).json()["sends"]
    assert done["status"] == "completed" and done["completed_at"] and done["sent"] == 10
    assert state_of(sb, cid)["status"] == "sent"


def test_campaigns_move_over_time_scheduled_sending_sent(sb: SandboxServer, api: requests.Session) -> None:
    (c,) = seed(sb, {"id": "c1", "status": "scheduled", "advance_every_s": 60, "total_recipients": 7})
    assert api.get(url(sb, "c1", "/history")).json() == {"sends": []}
    sb.admin("POST", "/time", {"advance_s": 61})
    (running,) = api.get(url(sb, "c1", "/history")).json()["sends"]
    assert running["status"] == "sending" and running["total_recipients"] == 7 and running["created_by"] == "scheduler"
    assert state_of(sb, "c1")["status"] == "sending"
    sb.admin("POST", "/time", {"advance_s": 60})
    assert api.get(url(sb, "c1", "/history")).json()["sends"][0]["completed_at"] is not None
    assert state_of(sb, "c1")["status"] == "sent"


def test_admin_advance_steps_and_jumps(sb: SandboxServer) -> None:
    seed(sb, {"id": "c1", "status": "scheduled"}, {"id": "c2", "status": "sending", "drain_s": 600})
    assert sb.admin("POST", "/loop/advance", {"id": "c1"})["campaign"]["status"] == "sending"
    assert sb.admin("POST", "/loop/advance", {"id": "c1"})["campaign"]["status"] == "sent"
    with pytest.raises(RuntimeError, match="400"):
        sb.admin("POST", "/loop/advance", {"id": "c1"})  # sent has no next step
    assert sb.admin("POST", "/loop/advance", {"id": "c2", "status": "cancelled"})["campaign"]["status"] == "cancelled"
    drained = sb.admin("POST", "/loop/advance", {"id": "c2"})["campaign"]  # a cancelled campaign's sends finish
    assert drained["sends"][0]["status"] == "cancelled" and drained["sends"][0]["completed_at"]
    with pytest.raises(RuntimeError, match="404"):
        sb.admin("POST", "/loop/advance", {"id": "missing"})


# ------------------------------------------------------------------------------- cancel
@pytest.mark.parametrize("status", ["draft", "scheduled", "sending"])
def test_cancel_touches_only_its_campaign(sb: SandboxServer, api: requests.Session, status: str) -> None:
    seed(sb, {"id": "c1", "status": status}, {"id": "other", "status": status})
    r = api.post(url(sb, "c1", "/cancel"))
    assert r.status_code == 200 and set(r.json()) == {"campaign"} and set(r.json()["campaign"]) == CAMPAIGN_KEYS
    body = r.json()["campaign"]
    assert body["status"] == "cancelled" and body["cancelled_at"] is not None and body["id"] == "c1"
    assert state_of(sb, "other")["status"] == status and state_of(sb, "other")["cancelled_at"] is None
    (call,) = sb.admin("GET", "/loop/state")["cancel_calls"]
    assert (call["campaign_id"], call["previous_status"], call["result"]) == ("c1", status, "cancelled")


def test_cancel_while_sending_drains_the_running_send(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "sending", "advance_every_s": 100, "drain_s": 5, "total_recipients": 1000})
    sb.admin("POST", "/time", {"advance_s": 10})
    api.post(url(sb, "c1", "/cancel"))
    (running,) = api.get(url(sb, "c1", "/history")).json()["sends"]
    assert running["completed_at"] is None and running["status"] == "sending"  # still delivering
    sb.admin("POST", "/time", {"advance_s": 5})
    (stopped,) = api.get(url(sb, "c1", "/history")).json()["sends"]
    assert stopped["status"] == "cancelled" and stopped["completed_at"] and stopped["sent"] == 150


def test_recancel_answers_the_unchanged_campaign_by_default(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "cancelled", "cancelled_at": "2026-01-01T10:00:00Z"})
    r = api.post(url(sb, "c1", "/cancel"))
    assert r.status_code == 200 and r.json()["campaign"]["cancelled_at"] == "2026-01-01T10:00:00.000Z"
    assert sb.admin("GET", "/loop/state")["cancel_calls"][0]["result"] == "unchanged_cancelled"


@pytest.mark.parametrize("code", [400, 409, 412, 422])
def test_recancel_refusal_is_configurable(sb: SandboxServer, api: requests.Session, code: int) -> None:
    sb.admin("POST", "/config", {"loop": {"recancel_status": code}})
    seed(sb, {"id": "c1", "status": "cancelled"})
    r = api.post(url(sb, "c1", "/cancel"))
    assert r.status_code == code and r.json()["message"] == "Campaign already cancelled"
    assert set(r.json()) == {"error", "message"}
    sb.admin("POST", "/config", {"loop": {"refusal_body": "campaign"}})
    assert api.post(url(sb, "c1", "/cancel")).json()["campaign"]["status"] == "cancelled"


def test_cancel_of_a_sent_campaign_is_409_or_a_no_op_200(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "sent"})
    r = api.post(url(sb, "c1", "/cancel"))
    assert r.status_code == 409 and r.json() == {"error": "conflict", "message": "Campaign already sent"}
    sb.admin("POST", "/config", {"loop": {"cancel_sent_status": 200}})
    r = api.post(url(sb, "c1", "/cancel"))
    assert r.status_code == 200 and r.json()["campaign"]["status"] == "sent"
    assert r.json()["campaign"]["cancelled_at"] is None and state_of(sb, "c1")["status"] == "sent"


def test_cancel_unknown_is_404_and_history_unknown_is_configurable(sb: SandboxServer, api: requests.Session) -> None:
    r = api.post(url(sb, "missing", "/cancel"))
    assert r.status_code == 404 and r.json() == {"error": "not_found", "message": "Campaign not found"}
    assert api.get(url(sb, "missing", "/history")).json() == {"sends": []}  # no 404 documented
    sb.admin("POST", "/config", {"loop": {"history_unknown_campaign": "404"}})
    assert api.get(url(sb, "missing", "/history")).status_code == 404


def test_500_before_and_after_the_cancel_applied(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, {"id": "c1", "status": "sending"}, {"id": "c2", "status": "sending"}, fail_cancels_after_applying=1)
    sb.admin(
        "POST",
        "/loop/faults",
        {"fail_next": 1, "status": 500, "body": {"error": "internal_error", "message": "Cancel failed"}},
    )
    r = api.post(url(sb, "c1", "/cancel"))  # injected before the handler: nothing happened
    assert r.status_code == 500 and r.json() == {"error": "internal_error", "message": "Cancel failed"}
    assert state_of(sb, "c1")["status"] == "sending"
    r = api.post(url(sb, "c1", "/cancel"))  # applied, then failed: it did happen
    assert r.status_code == 500 and r.json() == {"error": "internal_error", "message": "Cancel failed"}
    assert state_of(sb, "c1")["status"] == "cancelled"
    assert api.post(url(sb, "c2", "/cancel")).status_code == 200  # only the next one
    assert [c["result"] for c in sb.admin("GET", "/loop/state")["cancel_calls"]] == ["cancelled_then_500", "cancelled"]


def test_status_case_is_configurable(sb: SandboxServer, api: requests.Session) -> None:
    sb.admin("POST", "/config", {"loop": {"status_case": "upper"}})
    seed(sb, {"id": "c1", "status": "sending"})
    assert api.post(url(sb, "c1", "/cancel")).json()["campaign"]["status"] == "CANCELLED"
    assert api.get(url(sb, "c1", "/history")).json()["sends"][0]["status"] == "CANCELLED"
    assert state_of(sb, "c1")["status"] == "cancelled"  # the admin view stays lowercase


def test_admin_validation_and_reset(sb: SandboxServer) -> None:
    for body in (
        {"loop": {"recancel_status": 404}},
        {"loop": {"status_case": "camel"}},
        {"loop": {"cancel_drain_s": -1}},
        {"loop": {"history_unknown_campaign": "x"}},
    ):
        with pytest.raises(RuntimeError, match="400"):
            sb.admin("POST", "/config", body)
    for bad in ({"status": "paused"}, {"id": "a/b"}, {"total_recipients": -1}):
        with pytest.raises(RuntimeError, match="400"):
            seed(sb, bad)
    with pytest.raises(RuntimeError, match="400"):
        seed(sb, {"id": "same"}, {"id": "same"})
    seed(sb, {"id": "c1"})
    sb.admin("POST", "/reset")
    assert sb.admin("GET", "/loop/state") == {"campaigns": [], "cancel_calls": [], "fail_cancels_after_applying": 0}
    assert sb.admin("GET", "/config")["loop"]["api_key"] == TOKEN
    assert "loop" in sb.admin("GET", "/health")["vendors"]


# ---------------------------------------------------------------- the provider against the sandbox
def test_hook_and_trigger_against_the_sandbox(sb: SandboxServer, set_conn: Any) -> None:
    """The sync cancel, then the async trigger path (aiohttp, async connection lookup) over real HTTP."""
    from airflow_provider_cancel.hooks.loop_comms import LoopCommsHook
    from airflow_provider_cancel.status import CancelOutcome
    from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
    from airflow_provider_cancel.vendors.loop_comms import LoopCommsCampaign

    set_conn("loop_comms_default", "loop_comms", sb.vendor_url("loop"), password=TOKEN)
    seed(sb, {"id": "c1", "status": "sending", "drain_s": 1.5}, {"id": "c2", "status": "sending"})
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.CANCELLED
    target = LoopCommsCampaign(campaign_id="c1").status_target(result)
    assert LoopCommsHook().get_status(**target).state.value == "active"  # the send is still draining

    trigger = CampaignStatusTrigger(
        hook_class="airflow_provider_cancel.hooks.loop_comms.LoopCommsHook",
        conn_id="loop_comms_default",
        target=target,
        poll_interval=0.5,
    )
    started = time.monotonic()

    async def first_event() -> dict[str, Any]:
        return (await trigger.run().__anext__()).payload

    event = asyncio.run(first_event())
    assert event["status"] == "success" and event["campaign_status"]["state"] == "cancelled"
    assert 0.5 < time.monotonic() - started < 10
    history_reads = [e for e in sb.admin("GET", "/requests?vendor=loop")["requests"] if e["path"].endswith("/history")]
    assert len(history_reads) >= 3  # one sync read, then polls until the send finished
    assert state_of(sb, "c2")["status"] == "sending"
    assert LoopCommsHook().cancel_campaign("c1").outcome in (CancelOutcome.CANCELLED, CancelOutcome.ALREADY_CANCELLED)


def test_hook_judges_refusals_from_history_not_wording(sb: SandboxServer, set_conn: Any) -> None:
    """With re-cancels refused (409 "Campaign already cancelled"), the history decides each outcome."""
    from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
    from airflow_provider_cancel.hooks.loop_comms import LoopCommsHook
    from airflow_provider_cancel.status import CancelOutcome
    from airflow_provider_cancel.vendors.loop_comms import LoopCommsCampaign

    set_conn("loop_comms_default", "loop_comms", sb.vendor_url("loop"), password=TOKEN)
    sb.admin("POST", "/config", {"loop": {"recancel_status": 409}})
    seed(
        sb,
        {"id": "never-sent", "status": "cancelled"},
        {"id": "stopped", "status": "sending", "drain_s": 0},
        {"id": "draining", "status": "sending", "drain_s": 3600},
        {"id": "sent", "status": "sent"},
    )
    for cid in ("stopped", "draining"):
        sb.admin("POST", "/loop/advance", {"id": cid, "status": "cancelled"})  # cancelled outside Airflow
    hook = LoopCommsHook()

    stopped = hook.cancel_campaign("stopped")  # history shows the send stopped as cancelled: evidence
    assert stopped.outcome is CancelOutcome.ALREADY_CANCELLED and stopped.detail["evidence"] == "history"
    assert hook.get_status(**LoopCommsCampaign(campaign_id="stopped").status_target(stopped)).is_cancelled

    never = hook.cancel_campaign("never-sent")  # empty history: the wording only breaks the tie
    target = LoopCommsCampaign(campaign_id="never-sent").status_target(never)
    assert never.outcome is CancelOutcome.ALREADY_CANCELLED and target["cancel_status"] is None
    assert target["refusal_hint"] == "cancelled" and hook.get_status(**target).is_cancelled

    # Cancelled outside, but its send still delivers and nothing in the answer shows the cancel:
    # the kill switch fails loudly rather than claim success on wording alone.
    with pytest.raises(VendorAPIError, match="1 send\\(s\\) running.*not proof"):
        hook.cancel_campaign("draining")
    with pytest.raises(CampaignFinishedError, match="already been sent; nothing was cancelled"):
        hook.cancel_campaign("sent")
    assert state_of(sb, "sent")["status"] == "sent"

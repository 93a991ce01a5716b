"""The SendGrid part of the sandbox, over real HTTP; then the hook against it, under each reading."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "SG.sandbox_key"


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    return server


@pytest.fixture()
def api(bearer_session: Any) -> requests.Session:
    session: requests.Session = bearer_session(KEY)
    return session


def seed(sb: SandboxServer, **body: Any) -> dict[str, Any]:
    return sb.admin("POST", "/sendgrid/seed", body)


def url(sb: SandboxServer, path: str) -> str:
    return f"{sb.vendor_url('sendgrid')}{path}"


def hold(api: requests.Session, sb: SandboxServer, batch_id: str, status: str = "cancel") -> requests.Response:
    return api.post(url(sb, "/v3/user/scheduled_sends"), json={"batch_id": batch_id, "status": status})


def batches(sb: SandboxServer) -> dict[str, dict[str, Any]]:
    return {b["batch_id"]: b for b in sb.admin("GET", "/sendgrid/state")["batches"]}


def test_auth_errors_and_a_read_only_key(sb: SandboxServer) -> None:
    seed(sb, batches=[{"batch_id": "b1"}])
    r = requests.get(url(sb, "/v3/scopes"), headers={"Authorization": "Bearer SG.wrong"})
    assert r.status_code == 401 and r.json()["errors"] == [{"field": None, "message": "authorization required"}]
    read_only = {"Authorization": "Bearer SG.sandbox_readonly"}
    assert "user.scheduled_sends.create" not in requests.get(url(sb, "/v3/scopes"), headers=read_only).json()["scopes"]
    r = requests.post(
        url(sb, "/v3/user/scheduled_sends"), headers=read_only, json={"batch_id": "b1", "status": "cancel"}
    )
    assert r.status_code == 403 and batches(sb)["b1"]["hold"] is None
    assert KEY not in json.dumps(sb.admin("GET", "/requests?vendor=sendgrid"))


def test_cancel_a_batch_then_it_is_discarded_at_its_send_time(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, batches=[{"batch_id": "b1", "send_in_s": 3600}, {"batch_id": "b2", "send_in_s": 3600}])
    r = hold(api, sb, "b1")
    assert r.status_code == 201 and r.json() == {"batch_id": "b1", "status": "cancel"}
    assert api.get(url(sb, "/v3/user/scheduled_sends/b1")).json() == [{"batch_id": "b1", "status": "cancel"}]
    again = hold(api, sb, "b1")
    assert again.status_code == 400 and again.json()["errors"][0]["message"].startswith("a cancel or pause already")
    sb.admin("POST", "/time", {"advance_s": 3601})
    assert {k: v["delivery"] for k, v in batches(sb).items()} == {"b1": "discarded", "b2": "sent"}
    assert api.get(url(sb, "/v3/user/scheduled_sends/b1")).json() == [{"batch_id": "b1", "status": "cancel"}]
    assert api.get(url(sb, "/v3/user/scheduled_sends/b2")).json() == []


def test_pause_then_change_to_cancel_or_lift(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, batches=[{"batch_id": "b1"}, {"batch_id": "b2"}])
    assert hold(api, sb, "b1", "pause").status_code == 201
    assert hold(api, sb, "b2", "pause").status_code == 201
    assert api.patch(url(sb, "/v3/user/scheduled_sends/b1"), json={"status": "cancel"}).status_code == 204
    assert api.delete(url(sb, "/v3/user/scheduled_sends/b2")).status_code == 204
    assert api.patch(url(sb, "/v3/user/scheduled_sends/b2"), json={"status": "cancel"}).status_code == 404
    sb.admin("POST", "/time", {"advance_s": 3601})
    assert {k: v["delivery"] for k, v in batches(sb).items()} == {"b1": "discarded", "b2": "sent"}


def test_too_late_unknown_batches_and_the_hold_limit(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, batches=[{"batch_id": "soon", "send_in_s": 300}])
    late = hold(api, sb, "soon")
    assert late.status_code == 400 and "10 minutes" in late.json()["errors"][0]["message"]
    bad = hold(api, sb, "nope")
    assert bad.status_code == 400 and bad.json()["errors"] == [{"field": "batch_id", "message": "invalid batch id"}]
    assert hold(api, sb, "soon", "stop").json()["errors"][0]["field"] == "status"
    sb.admin("POST", "/config", {"sendgrid": {"late_cancel": "accept", "max_holds": 1}})
    assert hold(api, sb, "soon").status_code == 201
    seed(sb, batches=[{"batch_id": "b2"}])
    assert "max limit" in hold(api, sb, "b2").json()["errors"][0]["message"]
    created = api.post(url(sb, "/v3/mail/batch"))
    assert created.status_code == 201 and api.get(url(sb, f"/v3/mail/batch/{created.json()['batch_id']}")).ok


def test_config_readings_for_the_undocumented_answers(sb: SandboxServer, api: requests.Session) -> None:
    seed(sb, batches=[{"batch_id": "b1"}])
    sb.admin("POST", "/config", {"sendgrid": {"no_hold_answer": "404", "existing_hold_status": 409}})
    assert api.get(url(sb, "/v3/user/scheduled_sends/b1")).status_code == 404
    assert hold(api, sb, "b1").status_code == 201
    assert hold(api, sb, "b1").status_code == 409


def test_single_send_unschedule_and_trigger(sb: SandboxServer, api: requests.Session) -> None:
    seed(
        sb,
        single_sends=[
            {"id": "ss1", "status": "scheduled", "send_in_s": 60},
            {"id": "ss2", "status": "scheduled", "send_in_s": 60},
        ],
    )
    r = api.delete(url(sb, "/v3/marketing/singlesends/ss1/schedule"))
    assert r.status_code == 200 and r.json() == {"send_at": None, "status": "draft"}
    assert api.delete(url(sb, "/v3/marketing/singlesends/ss1/schedule")).status_code == 200  # a draft: same answer
    sb.admin("POST", "/config", {"sendgrid": {"unschedule_draft": 404}})
    assert api.delete(url(sb, "/v3/marketing/singlesends/ss1/schedule")).status_code == 404
    sb.admin("POST", "/time", {"advance_s": 61})
    assert api.get(url(sb, "/v3/marketing/singlesends/ss2")).json()["status"] == "triggered"
    assert api.get(url(sb, "/v3/marketing/singlesends/ss1")).json()["status"] == "draft"
    assert api.delete(url(sb, "/v3/marketing/singlesends/ss2/schedule")).status_code == 400
    assert api.get(url(sb, "/v3/marketing/singlesends/nope")).status_code == 404


def test_rate_limit_headers_on_every_answer_and_429_without_retry_after(
    sb: SandboxServer, api: requests.Session
) -> None:
    answers = [api.get(url(sb, "/v3/scopes")) for _ in range(11)]
    assert [r.status_code for r in answers] == [200] * 10 + [429]
    assert answers[0].headers["X-RateLimit-Limit"] == "10"
    assert int(answers[10].headers["X-RateLimit-Reset"]) >= int(time.time())
    assert answers[10].json()["errors"] == [{"field": None, "message": "too many requests"}]
    assert "Retry-After" not in answers[10].headers
    sb.admin("POST", "/reset")
    sb.admin("POST", "/config", {"sendgrid": {"retry_after_on_429": True, "requests_per_second": 1}})
    api.get(url(sb, "/v3/scopes"))
    assert int(api.get(url(sb, "/v3/scopes")).headers["Retry-After"]) >= 1


def sg_hook(set_conn: Any, sb: SandboxServer) -> Any:
    from airflow_provider_cancel.hooks.sendgrid import SendGridHook

    set_conn("sendgrid_default", "sendgrid", sb.vendor_url("sendgrid"), password=KEY)
    return SendGridHook()


@pytest.mark.parametrize("existing", [400, 409, 422])
@pytest.mark.parametrize("no_hold", ["empty", "404"])
def test_hook_outcomes_under_each_reading(sb: SandboxServer, set_conn: Any, existing: int, no_hold: str) -> None:
    from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
    from airflow_provider_cancel.status import CancelOutcome

    sb.admin("POST", "/config", {"sendgrid": {"existing_hold_status": existing, "no_hold_answer": no_hold}})
    seed(
        sb,
        batches=[{"batch_id": "b1"}, {"batch_id": "paused", "hold": "pause"}, {"batch_id": "soon", "send_in_s": 60}],
        single_sends=[{"id": "ss1", "status": "scheduled"}, {"id": "done", "status": "triggered"}],
    )
    h = sg_hook(set_conn, sb)
    assert h.test_connection()[0]
    assert h.get_status(batch_id="b1").state.value == "unknown"  # no hold, no send time: never called done
    assert h.cancel_scheduled_send("b1").outcome is CancelOutcome.CANCELLED
    assert h.get_status(batch_id="b1").state.value == "cancelled"
    assert h.cancel_scheduled_send("b1").outcome is CancelOutcome.ALREADY_CANCELLED  # refused, then read back
    assert h.cancel_scheduled_send("b1", action="pause").outcome is CancelOutcome.ALREADY_CANCELLED  # never weakened
    upgraded = h.cancel_scheduled_send("paused")
    assert upgraded.outcome is CancelOutcome.CANCELLED and upgraded.detail["was"] == "pause"
    assert batches(sb)["paused"]["hold"] == "cancel"
    with pytest.raises(VendorAPIError, match="10 minutes.*holds no cancel or pause"):
        h.cancel_scheduled_send("soon")
    with pytest.raises(CampaignFinishedError, match="no API to stop a send that is already under way"):
        h.cancel_scheduled_send("soon", send_at_s=int(time.time()) - 5)
    assert h.unschedule_single_send("ss1").outcome is CancelOutcome.CANCELLED
    assert h.unschedule_single_send("ss1").outcome in (CancelOutcome.CANCELLED, CancelOutcome.ALREADY_CANCELLED)
    with pytest.raises(CampaignFinishedError, match="already triggered"):
        h.unschedule_single_send("done")


def test_hook_reads_sent_from_the_send_time(sb: SandboxServer, set_conn: Any) -> None:
    seed(sb, batches=[{"batch_id": "b1", "send_in_s": 3600}])
    h = sg_hook(set_conn, sb)
    soon = int(time.time()) + 3600
    assert h.get_status(batch_id="b1", send_at=soon).state.value == "scheduled"
    assert h.get_status(batch_id="b1", send_at=int(time.time()) - 1).state.value == "completed"


def test_hook_backs_off_on_429(sb: SandboxServer, set_conn: Any, no_sleep: list[float]) -> None:
    seed(sb, batches=[{"batch_id": "b1"}])
    sb.admin("POST", "/sendgrid/faults", {"fail_next": 2, "status": 429})
    assert sg_hook(set_conn, sb).cancel_scheduled_send("b1").outcome.value == "cancelled"
    assert len(no_sleep) == 2


def test_hook_waits_until_the_rate_limit_resets(sb: SandboxServer, set_conn: Any) -> None:
    # The sandbox's own limiter: 2 requests a second, a 429 with X-RateLimit-Reset and no Retry-After.
    sb.admin("POST", "/config", {"sendgrid": {"requests_per_second": 2}})
    seed(sb, batches=[{"batch_id": f"b{i}"} for i in range(4)])
    h = sg_hook(set_conn, sb)
    sb.admin("DELETE", "/requests")
    started = time.monotonic()
    outcomes = [h.cancel_scheduled_send(f"b{i}").outcome.value for i in range(4)]
    elapsed = time.monotonic() - started
    assert outcomes == ["cancelled"] * 4
    statuses = [r["status"] for r in sb.admin("GET", "/requests?vendor=sendgrid")["requests"]]
    # Each 429 waited until the reset (the next second), so its one repeat got through: no retry storm,
    # and no exponential backoff past the reset either.
    assert statuses.count(429) >= 1 and statuses.count(201) == 4
    assert all(after != 429 for before, after in itertools.pairwise(statuses) if before == 429), statuses
    assert elapsed < 4.0, elapsed


def test_hold_after_send_at_drop_and_what_the_provider_reads_then(sb: SandboxServer, set_conn: Any) -> None:
    sb.admin("POST", "/config", {"sendgrid": {"hold_after_send_at": "drop"}})
    seed(sb, batches=[{"batch_id": "b1", "send_in_s": 3600, "hold": "cancel"}])
    h = sg_hook(set_conn, sb)
    send_at = int(time.time()) + 3600
    assert h.get_status(batch_id="b1", send_at=send_at).state.value == "cancelled"
    sb.admin("POST", "/time", {"advance_s": 3601})
    assert batches(sb)["b1"]["delivery"] == "discarded"
    assert h.get_hold("b1") is None  # the listing forgot the hold
    # Known limitation (docs/decisions.md): the hook's clock is real time, the sandbox's moved; with the
    # hold gone, a read after the send time cannot tell discarded from sent.
    assert h.get_status(batch_id="b1", send_at=int(time.time()) - 1).state.value == "completed"

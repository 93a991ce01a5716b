"""LoopCommsHook, LoopCommsCancelCampaignOperator and LoopCommsCampaignStatusSensor against requests-mock."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
from airflow_provider_cancel.hooks.loop_comms import (
    LoopCommsHook,
    classify_history,
    is_cancelled,
    wording_hint,
)
from airflow_provider_cancel.operators.loop_comms import LoopCommsCancelCampaignOperator
from airflow_provider_cancel.sensors.loop_comms import LoopCommsCampaignStatusSensor
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.validation import InvalidCancelRequest

BASE = "https://comms.loop.test"
TOKEN = "lph_at_unit_test_token_0123"
CANCEL = f"{BASE}/v1/admin/campaigns/c1/cancel"
HISTORY = f"{BASE}/v1/admin/campaigns/c1/history"


def iso(delta_s: float = 0.0) -> str:
    return (dt.datetime.now(dt.timezone.utc) + timedelta(seconds=delta_s)).isoformat().replace("+00:00", "Z")


def campaign(status: str = "cancelled", cancelled_at: str | None = "now", **fields) -> dict:
    """A documented 200 body of the cancel endpoint (every required field)."""
    return {
        "campaign": {
            "id": "c1", "brand_id": "b1", "name": "Promo", "subject": "Hi", "channel": "email",
            "template_key": "t", "segment_criteria": {}, "variables": {}, "status": status,
            "scheduled_at": None, "sent_at": fields.pop("sent_at", None),
            "cancelled_at": iso() if cancelled_at == "now" else cancelled_at,
            "created_by": "u1", "created_at": iso(-7200), "updated_at": iso(), **fields,
        }
    }


def send(status: str = "sending", completed: bool = False, **fields) -> dict:
    return {
        "id": fields.pop("id", "s1"), "campaign_id": "c1", "brand_id": "b1", "status": status,
        "total_recipients": 100, "sent": 100 if completed else 40, "failed": 0, "started_at": iso(-60),
        "completed_at": iso() if completed else None, "created_by": "u1", "created_at": iso(-60), **fields,
    }


def context(task_id="cancel", run_id="manual__1", try_number=1):
    return {"ti": SimpleNamespace(dag_id="d", task_id=task_id, run_id=run_id, map_index=-1, try_number=try_number)}


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_conn("loop_comms_default", "loop_comms", BASE, password=TOKEN)


# ------------------------------------------------------------------ cancel: documented 200
def test_cancel_200_cancelled_now_is_cancelled_with_bearer_and_no_body(requests_mock):
    requests_mock.post(CANCEL, json=campaign())
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == "cancelled"
    assert result.target == {"campaign_id": "c1"} and result.detail["cancelled_at"]
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}" and sent.body is None
    assert requests_mock.call_count == 1


@pytest.mark.parametrize(
    ("status", "cancelled_at"),
    [("CANCELLED", None), ("Cancelled", None), ("canceled", None), ("archived", "now"), (None, "now")],
)
def test_cancel_200_any_casing_or_a_cancelled_at_counts_as_cancelled(requests_mock, status, cancelled_at):
    requests_mock.post(CANCEL, json=campaign(status, cancelled_at))
    assert LoopCommsHook().cancel_campaign("c1").outcome is CancelOutcome.CANCELLED


def test_cancel_200_with_cancelled_at_before_the_call_is_already_cancelled(requests_mock):
    requests_mock.post(CANCEL, json=campaign("cancelled", iso(-3600)))
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.vendor_status == "cancelled"


def test_cancel_200_bare_campaign_body_is_accepted(requests_mock):
    requests_mock.post(CANCEL, json=campaign()["campaign"])
    assert LoopCommsHook().cancel_campaign("c1").outcome is CancelOutcome.CANCELLED


@pytest.mark.parametrize("status", ["sent", "SENT", "failed"])
def test_cancel_200_of_a_finished_campaign_fails_clearly(requests_mock, status):
    requests_mock.post(CANCEL, json=campaign(status, None, sent_at=iso(-600)))
    with pytest.raises(CampaignFinishedError, match=f"already finished with status '{status}'.*nothing was cancelled"):
        LoopCommsHook().cancel_campaign("c1")


def test_cancel_200_that_did_not_cancel_is_an_error(requests_mock):
    requests_mock.post(CANCEL, json=campaign("sending", None))
    with pytest.raises(AirflowException, match="'sending' and no cancelled_at: it was not cancelled"):
        LoopCommsHook().cancel_campaign("c1")


def test_cancel_200_without_a_campaign_is_an_error(requests_mock):
    requests_mock.post(CANCEL, json={"ok": True})
    with pytest.raises(AirflowException, match="without a campaign"):
        LoopCommsHook().cancel_campaign("c1")


# ------------------------------------------------------------------ cancel: documented errors
def test_cancel_404_raises_the_vendor_error_once(requests_mock):
    requests_mock.post(CANCEL, status_code=404, json={"error": "not_found", "message": "Campaign not found"})
    with pytest.raises(VendorAPIError) as err:
        LoopCommsHook().cancel_campaign("c1")
    assert (err.value.status_code, err.value.code, err.value.message) == (404, "not_found", "Campaign not found")
    assert requests_mock.call_count == 1


def test_cancel_500_is_retried_because_cancel_is_safe_to_repeat(requests_mock, no_sleep):
    requests_mock.post(CANCEL, [
        {"status_code": 500, "json": {"error": "internal_error", "message": "Cancel failed"}},
        {"json": campaign()},
    ])
    assert LoopCommsHook().cancel_campaign("c1").outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 2 and len(no_sleep) == 1


def test_cancel_500_every_time_says_it_may_or_may_not_have_happened(requests_mock, no_sleep):
    requests_mock.post(CANCEL, status_code=500, json={"error": "internal_error", "message": "Cancel failed"})
    with pytest.raises(VendorAPIError, match="Cancel failed.*may or may not have taken effect") as err:
        LoopCommsHook(retry_limit=3).cancel_campaign("c1")
    assert err.value.status_code == 500 and requests_mock.call_count == 3


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "unauthorized", "message": "Invalid access token"}),
        (403, {"error": "insufficient_scope", "message": "Missing scope comms:admin"}),
    ],
)
def test_cancel_auth_errors_fail_the_task_at_once_without_leaking_the_token(requests_mock, status, body):
    requests_mock.post(CANCEL, status_code=status, json=body)
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1")
    with pytest.raises(AirflowFailException, match=f"HTTP {status} \\[{body['error']}\\]") as err:
        op.execute(context())
    assert requests_mock.call_count == 1 and TOKEN not in str(err.value)


# ------------------------------------------------------------------ cancel: undocumented refusals
# A refusal's wording is a hint, never proof: the campaign in the body or the send history decides.
@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        ("conflict", "Campaign already cancelled", "cancelled"),
        ("already_cancelled", "Bad state", "cancelled"),
        ("bad_state", "campaign was canceled", "cancelled"),
        ("conflict", "Campaign is cancelled", "cancelled"),
        ("conflict", "Cannot cancel: campaign already cancelled", "cancelled"),  # negation in another clause
        ("conflict", "Campaign already sent", "sent"),
        ("conflict", "Campaign has not been cancelled: a send is in progress", None),
        ("conflict", "Campaign has not yet been cancelled", None),
        ("conflict", "Campaign hasn't been cancelled", None),
        ("conflict", "Campaign wasn\u2019t cancelled", None),
        ("not_cancelled", "Campaign was never cancelled", None),
        ("conflict", "Campaign has not been sent yet", None),
        ("conflict", "Campaign has never been delivered", None),
        ("conflict", "Campaign cannot be cancelled", None),
        ("conflict", "Campaign already sent and already cancelled", None),  # contradicts itself: no hint
        (None, "Bad state", None),
    ],
)
def test_wording_hint_ignores_negated_phrases(code, message, hint):
    assert wording_hint(code, message) == hint


@pytest.mark.parametrize(
    "body",
    [
        {"error": "conflict", "message": "Campaign already cancelled"},
        {"error": "already_cancelled", "message": "Bad state"},
        {"error": "bad_state", "message": "campaign was canceled"},
    ],
)
def test_refusal_saying_already_cancelled_with_history_confirming_is_already_cancelled(requests_mock, body):
    requests_mock.post(CANCEL, status_code=409, json=body)
    requests_mock.get(HISTORY, json={"sends": [send("cancelled", completed=True)]})
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.detail["evidence"] == "history"
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]  # history was checked
    # The history shows the cancel by itself: no cancel fact is injected into the wait target.
    assert LoopCommsHook.status_target_for(result) == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}


def test_refusal_saying_already_cancelled_with_empty_history_breaks_the_tie_with_a_hint_only(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, json={"sends": []})
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED
    assert result.vendor_status is None and result.detail["evidence"] == "refusal_wording"
    target = LoopCommsHook.status_target_for(result)
    assert target == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None, "refusal_hint": "cancelled"}
    # The hint only holds while history stays empty: a send showing up is judged from history alone.
    assert classify_history("c1", [], **{k: v for k, v in target.items() if k != "campaign_id"}).is_cancelled
    assert classify_history("c1", [send("completed", True)], refusal_hint="cancelled").state is CampaignState.COMPLETED
    assert classify_history("c1", [send("sending")], refusal_hint="cancelled").state is CampaignState.ACTIVE


@pytest.mark.parametrize(
    "sends", [[send("sending")], [send("completed", True, id="s0"), send("sending")]],
)
def test_refusal_saying_already_cancelled_while_a_send_runs_fails_instead_of_succeeding(requests_mock, sends):
    # Decision (kill switch): the refusal cancelled nothing, and a running send with no campaign
    # and no send stopped as cancelled does not show the campaign cancelled. Fail loudly rather than
    # succeed, or wait and "confirm" once the send ends while every message went out.
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, json={"sends": sends})
    with pytest.raises(VendorAPIError, match="Campaign already cancelled.*1 send\\(s\\) running.*not proof") as err:
        LoopCommsHook().cancel_campaign("c1")
    assert err.value.status_code == 409 and "may still be going out" in err.value.message


def test_refusal_saying_has_not_been_cancelled_is_never_a_success(requests_mock):
    # The reviewer's case: this used to be `already_cancelled` after one POST, without history.
    requests_mock.post(CANCEL, status_code=409,
                       json={"error": "conflict", "message": "Campaign has not been cancelled: a send is in progress"})
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    with pytest.raises(VendorAPIError, match="has not been cancelled.*its history shows 1 send\\(s\\) running") as err:
        LoopCommsHook().cancel_campaign("c1")
    assert not isinstance(err.value, CampaignFinishedError)
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]
    requests_mock.get(HISTORY, json={"sends": []})  # and with an empty history the negation breaks no tie
    with pytest.raises(VendorAPIError, match="history shows no sends"):
        LoopCommsHook().cancel_campaign("c1")


@pytest.mark.parametrize("deferrable", [True, False])
def test_operator_wait_after_has_not_been_cancelled_fails_at_once_without_waiting(
    requests_mock, monkeypatch, deferrable
):
    # Before the fix the wait got cancel_status="cancelled" and "confirmed" once the send finished.
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: pytest.fail("waited"))
    requests_mock.post(CANCEL, status_code=409,
                       json={"error": "conflict", "message": "Campaign has not been cancelled: a send is in progress"})
    requests_mock.get(HISTORY, [{"json": {"sends": [send("sending")]}}, {"json": {"sends": [send("sent", True)]}}])
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=deferrable)
    with pytest.raises(AirflowFailException, match="not confirmed.*running"):
        op.execute(context())
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]


@pytest.mark.parametrize("sends", [[], [send("sending")]])
def test_refusal_saying_has_not_been_sent_yet_is_not_campaign_finished(requests_mock, sends):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign has not been sent yet"})
    requests_mock.get(HISTORY, json={"sends": sends})
    with pytest.raises(VendorAPIError, match="has not been sent yet.*not confirmed") as err:
        LoopCommsHook().cancel_campaign("c1")
    assert not isinstance(err.value, CampaignFinishedError)


@pytest.mark.parametrize("status", [400, 409, 412, 422])
def test_refusal_saying_already_sent_fails_clearly_once_history_shows_it(requests_mock, status):
    requests_mock.post(CANCEL, status_code=status, json={"error": "conflict", "message": "Campaign already sent"})
    requests_mock.get(HISTORY, json={"sends": [send("completed", completed=True)]})
    with pytest.raises(CampaignFinishedError, match="already been sent; nothing was cancelled.*History: all 1 send"):
        LoopCommsHook().cancel_campaign("c1")


def test_refusal_saying_already_sent_without_a_send_in_history_is_not_called_finished(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already sent"})
    requests_mock.get(HISTORY, json={"sends": []})
    with pytest.raises(VendorAPIError, match="no sends.*wording says it was sent") as err:
        LoopCommsHook().cancel_campaign("c1")
    assert not isinstance(err.value, CampaignFinishedError)


def test_refusal_wording_never_outweighs_history(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, json={"sends": [send("completed", completed=True)]})
    with pytest.raises(CampaignFinishedError, match="finished without being cancelled.*'completed'"):
        LoopCommsHook().cancel_campaign("c1")
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already sent"})
    requests_mock.get(HISTORY, json={"sends": [send("cancelled", completed=True)]})
    assert LoopCommsHook().cancel_campaign("c1").outcome is CancelOutcome.ALREADY_CANCELLED


def test_refusal_with_the_campaign_in_the_body_is_judged_from_it(requests_mock):
    cancelled = {"error": "conflict", "message": "Cannot cancel", **campaign("Cancelled", iso(-60))}
    requests_mock.post(CANCEL, status_code=422, json=cancelled)
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and not requests_mock.request_history[1:]
    assert LoopCommsHook.status_target_for(result) == {  # the campaign's own facts: evidence
        "campaign_id": "c1", "cancel_status": "Cancelled", "cancelled_at": cancelled["campaign"]["cancelled_at"],
    }
    wording = {"error": "conflict", "message": "Campaign already cancelled", **campaign("sending", None)}
    requests_mock.post(CANCEL, status_code=409, json=wording)
    with pytest.raises(AirflowException, match="'sending' and no cancelled_at: it was not cancelled"):
        LoopCommsHook().cancel_campaign("c1")  # the campaign beats the wording
    sent = {"error": "conflict", "message": "Cannot cancel", **campaign("sent", None)}
    requests_mock.post(CANCEL, status_code=422, json=sent)
    with pytest.raises(CampaignFinishedError):
        LoopCommsHook().cancel_campaign("c1")


@pytest.mark.parametrize(
    ("sends", "expect"),
    [
        ([send("cancelled", completed=True)], CancelOutcome.ALREADY_CANCELLED),
        ([send("completed", completed=True)], CampaignFinishedError),
        ([send("failed", completed=True)], CampaignFinishedError),
        ([], VendorAPIError),
        ([send("sending")], VendorAPIError),
        ([send("vanished", completed=True)], VendorAPIError),
    ],
)
def test_vague_refusal_is_judged_from_the_history(requests_mock, sends, expect):
    requests_mock.post(CANCEL, status_code=400, json={"error": "bad_request", "message": "Bad state"})
    requests_mock.get(HISTORY, json={"sends": sends})
    if isinstance(expect, CancelOutcome):
        assert LoopCommsHook().cancel_campaign("c1").outcome is expect
    else:
        with pytest.raises(expect, match="Bad state"):
            LoopCommsHook().cancel_campaign("c1")
    assert requests_mock.request_history[-1].method == "GET"


def test_campaign_id_is_quoted_into_one_path_segment(requests_mock):
    requests_mock.post(f"{BASE}/v1/admin/campaigns/..%2Fx/cancel", json=campaign())
    LoopCommsHook().cancel_campaign("../x")
    assert requests_mock.called


# ------------------------------------------------------------------ status logic
@pytest.mark.parametrize(
    ("sends", "cancel_status", "cancelled_at", "state"),
    [
        ([send("sending")], "cancelled", "2026-01-01T00:00:00Z", CampaignState.ACTIVE),
        ([send("sending"), send("completed", True, id="s0")], "CANCELLED", None, CampaignState.ACTIVE),
        ([send("cancelled", True)], "cancelled", "2026-01-01T00:00:00Z", CampaignState.CANCELLED),
        ([send("completed", True)], None, "2026-01-01T00:00:00Z", CampaignState.CANCELLED),
        ([], "Cancelled", None, CampaignState.CANCELLED),
        ([send("cancelled")], "cancelled", None, CampaignState.ACTIVE),  # completed_at decides, not the word
        # Without the cancel's facts: history alone.
        ([send("Sending")], None, None, CampaignState.ACTIVE),
        ([send("Cancelled", True)], None, None, CampaignState.CANCELLED),
        ([send("completed", True)], None, None, CampaignState.COMPLETED),
        ([send("SENT", True)], None, None, CampaignState.COMPLETED),
        ([send("failed", True)], None, None, CampaignState.FAILED),
        ([], None, None, CampaignState.UNKNOWN),
        ([send("vanished", True)], None, None, CampaignState.UNKNOWN),
        ([send("completed", True)], "sent", None, CampaignState.COMPLETED),
    ],
)
def test_classify_history(sends, cancel_status, cancelled_at, state):
    status = classify_history("c1", sends, cancel_status, cancelled_at)
    assert status.state is state
    assert status.extra["running_send_ids"] == [s["id"] for s in sends if not s["completed_at"]]


def test_is_cancelled_rule():
    assert is_cancelled("CaNcElLeD", None) and is_cancelled("sending", "2026-01-01T00:00:00Z")
    assert not is_cancelled("sending", None) and not is_cancelled(None, "")


def test_get_status_reads_history_and_combines_the_facts(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    status = LoopCommsHook().get_status(campaign_id="c1", cancel_status="cancelled", cancelled_at=iso())
    assert status.state is CampaignState.ACTIVE and status.extra["running_send_ids"] == ["s1"]
    assert "still running" in status.describe()
    requests_mock.get(HISTORY, json=[send("cancelled", True)])  # a bare list is tolerated too
    status = LoopCommsHook().get_status(campaign_id="c1", cancel_status="cancelled", cancelled_at=iso())
    assert status.is_cancelled and status.extra["delivered"] == 100


def test_get_status_404_and_odd_bodies(requests_mock):
    requests_mock.get(HISTORY, status_code=404, json={"error": "not_found", "message": "Campaign not found"})
    with pytest.raises(VendorAPIError, match="HTTP 404"):
        LoopCommsHook().get_status(campaign_id="c1")
    requests_mock.get(HISTORY, json={"items": "?"})
    assert LoopCommsHook().get_status(campaign_id="c1").state is CampaignState.UNKNOWN


def test_history_500_is_retried_as_a_read(requests_mock, no_sleep):
    requests_mock.get(HISTORY, [{"status_code": 500, "json": {"error": "x", "message": "boom"}},
                                {"json": {"sends": []}}])
    assert LoopCommsHook().get_history("c1") == [] and requests_mock.call_count == 2


# ------------------------------------------------------------------ operator
@pytest.mark.parametrize("bad", [None, "", "   ", True, 1.5, ["c1"]])
def test_operator_refuses_a_bad_campaign_id_before_any_http(requests_mock, bad):
    with pytest.raises(InvalidCancelRequest, match="campaign_id is required"):
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id=bad).execute(context())
    assert not requests_mock.called


def test_operator_constructor_looks_nothing_up(monkeypatch):
    monkeypatch.setattr(LoopCommsHook, "get_connection", lambda *a, **k: pytest.fail("looked up in ctor"))
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="{{ params.id }}", loop_comms_conn_id="missing")
    assert op.template_fields == ("campaign_id",) and op.conn_id == "missing"


def test_operator_returns_json_result_and_a_retry_cancels_the_same_campaign(requests_mock):
    requests_mock.post(CANCEL, [{"json": campaign()}, {"json": campaign("cancelled", iso(-60))}])
    first = LoopCommsCancelCampaignOperator(task_id="t", campaign_id=" c1 ").execute(context(try_number=1))
    assert first["outcome"] == "cancelled" and first["target"] == {"campaign_id": "c1"}
    json.dumps(first)  # XCom-safe
    again = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context(try_number=2))
    assert again["outcome"] == "already_cancelled"
    assert {r.url for r in requests_mock.request_history} == {CANCEL}
    assert TOKEN not in json.dumps([first, again])


def test_operator_fails_without_retry_on_a_sent_campaign(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already sent"})
    requests_mock.get(HISTORY, json={"sends": [send("completed", completed=True)]})
    with pytest.raises(AirflowFailException, match="already been sent"):
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())


def test_operator_wait_deferrable_defers_with_the_cancel_facts_in_the_target(requests_mock):
    body = campaign()
    requests_mock.post(CANCEL, json=body)
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    op = LoopCommsCancelCampaignOperator(
        task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True, poll_interval=3, wait_timeout=90
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger) and trigger.poll_interval == 3
    assert trigger.target == {
        "campaign_id": "c1", "cancel_status": "cancelled", "cancelled_at": body["campaign"]["cancelled_at"],
    }
    assert exc.value.timeout == timedelta(seconds=90) and exc.value.kwargs["result"]["outcome"] == "cancelled"
    assert exc.value.kwargs["result"]["detail"]["evidence"] == "campaign"
    classpath, kwargs = trigger.serialize()
    assert kwargs["hook_class"] == "airflow_provider_cancel.hooks.loop_comms.LoopCommsHook"
    assert TOKEN not in json.dumps(kwargs)  # serialisable, and no secret in it


@pytest.mark.parametrize(
    ("sends", "state"), [([send("cancelled", True)], "cancelled"), ([send("sending")], "active")],
)
def test_operator_wait_after_a_history_judged_refusal_carries_no_cancel_facts(requests_mock, sends, state):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, [{"json": {"sends": [send("cancelled", True)]}}, {"json": {"sends": sends}}])
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    if state == "cancelled":
        assert op.execute(context())["final_status"]["state"] == "cancelled"
        return
    with pytest.raises(TaskDeferred) as exc:  # a send showing up later is judged from history alone
        op.execute(context())
    assert exc.value.trigger.target == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}


def test_operator_wait_returns_at_once_when_no_send_is_running(requests_mock):
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, json={"sends": [send("cancelled", True)]})
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    assert op.execute(context())["final_status"]["state"] == "cancelled"


def test_operator_wait_non_deferrable_polls_until_the_send_finished(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, [{"json": {"sends": [send("sending")]}}, {"json": {"sends": [send("cancelled", True)]}}])
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=False)
    out = op.execute(context())
    assert out["final_status"]["state"] == "cancelled" and requests_mock.call_count == 3


# ------------------------------------------------------------------ sensor
def test_sensor_with_facts_waits_for_running_sends(requests_mock):
    requests_mock.get(HISTORY, [{"json": {"sends": [send("sending")]}}, {"json": {"sends": [send("sending", True)]}}])
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", cancel_status="Cancelled", cancelled_at=iso())
    assert sensor.poke(context()).is_done is False
    done = sensor.poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_sensor_treats_rendered_none_as_no_facts(requests_mock):
    requests_mock.get(HISTORY, json={"sends": []})
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", cancel_status="None", cancelled_at="")
    assert sensor.status_target() == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}
    assert sensor.poke(context()).is_done is False  # no sends and no facts: cannot know, keeps waiting


def test_sensor_without_facts_fails_at_once_on_a_sent_campaign(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("completed", True)]})
    with pytest.raises(CampaignFinishedError, match="ended without being cancelled"):
        LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1").poke(context())
    assert LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", target_state="terminal").poke(context()).is_done


def test_sensor_refuses_a_missing_campaign_id_before_any_http(requests_mock):
    with pytest.raises(InvalidCancelRequest):
        LoopCommsCampaignStatusSensor(task_id="s", campaign_id="").poke(context())
    assert not requests_mock.called


def test_sensor_deferrable_pokes_once_then_defers(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    sensor = LoopCommsCampaignStatusSensor(
        task_id="s", campaign_id="c1", cancel_status="cancelled", deferrable=True, timeout=120, poke_interval=4
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert requests_mock.call_count == 1 and exc.value.timeout == timedelta(seconds=120)
    assert exc.value.trigger.target == {"campaign_id": "c1", "cancel_status": "cancelled", "cancelled_at": None}
    assert set(LoopCommsCampaignStatusSensor.template_fields) == {
        "campaign_id", "cancel_status", "cancelled_at", "refusal_hint",
    }


def test_sensor_refusal_hint_only_breaks_the_tie_of_an_empty_history(requests_mock):
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", cancel_status="None", refusal_hint="cancelled")
    assert sensor.status_target() == {
        "campaign_id": "c1", "cancel_status": None, "cancelled_at": None, "refusal_hint": "cancelled",
    }
    requests_mock.get(HISTORY, json={"sends": []})
    assert sensor.poke(context()).is_done
    requests_mock.get(HISTORY, json={"sends": [send("completed", True)]})
    with pytest.raises(CampaignFinishedError, match="ended without being cancelled"):
        sensor.poke(context())
    none = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", refusal_hint="None")
    assert "refusal_hint" not in none.status_target()


# ------------------------------------------------------------------ connection test
def test_test_connection_reads_history_only(requests_mock):
    requests_mock.get(f"{BASE}/v1/admin/campaigns/airflow-connection-test/history", json={"sends": []})
    ok, message = LoopCommsHook().test_connection()
    assert ok and "Access token was accepted" in message and requests_mock.last_request.method == "GET"
    requests_mock.get(f"{BASE}/v1/admin/campaigns/airflow-connection-test/history", status_code=401,
                      json={"error": "unauthorized", "message": "Invalid access token"})
    ok, message = LoopCommsHook().test_connection()
    assert not ok and "rejected the Access token" in message and TOKEN not in message


class RecordingTI(SimpleNamespace):
    """A task instance that keeps XComs in a dict, like the real one across a deferral."""

    def xcom_push(self, key, value):
        self.xcoms[key] = value

    def xcom_pull(self, task_ids, key, map_indexes):
        assert (task_ids, map_indexes) == (self.task_id, self.map_index)
        return self.xcoms.get(key)


def test_deferred_cancel_resumes_with_its_result_even_when_the_defer_kwargs_are_dropped(requests_mock):
    # `airflow dags test` resumes with {"event": ...} only; the result must come back from XCom.
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    ti = RecordingTI(dag_id="d", task_id="t", run_id="r", map_index=3, try_number=1, xcoms={})
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute({"ti": ti})
    assert ti.xcoms["cancel_result"] == exc.value.kwargs["result"]
    final = classify_history("c1", [send("cancelled", True)], "cancelled", iso()).to_dict()
    out = op.execute_complete({"ti": ti}, {"status": "success", "message": "ok", "campaign_status": final})
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"

"""LoopCommsHook against requests-mock: the cancel's answers, refusals judged from evidence, history reads."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cancel.exceptions import (
    Attempt,
    CampaignFinishedError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.loop_comms import LoopCommsHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from airflow_provider_cancel.vendors.loop_comms import LoopCommsCampaign, classify_history
from tests.unit.support.loop_comms import BASE, CANCEL, HISTORY, TOKEN, campaign, iso, send, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


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
    with pytest.raises(UnexpectedAnswerError, match="'sending' and no cancelled_at: it was not cancelled"):
        LoopCommsHook().cancel_campaign("c1")


def test_cancel_200_without_a_campaign_is_an_error(requests_mock):
    requests_mock.post(CANCEL, json={"ok": True})
    with pytest.raises(UnexpectedAnswerError, match="without a campaign"):
        LoopCommsHook().cancel_campaign("c1")


# ------------------------------------------------------------------ cancel: documented errors
def test_cancel_404_raises_the_vendor_error_once(requests_mock):
    requests_mock.post(CANCEL, status_code=404, json={"error": "not_found", "message": "Campaign not found"})
    with pytest.raises(VendorAPIError) as err:
        LoopCommsHook().cancel_campaign("c1")
    assert (err.value.status_code, err.value.code, err.value.message) == (404, "not_found", "Campaign not found")
    assert requests_mock.call_count == 1


def test_cancel_500_is_retried_because_cancel_is_safe_to_repeat(requests_mock, no_sleep):
    requests_mock.post(
        CANCEL,
        [
            {"status_code": 500, "json": {"error": "internal_error", "message": "Cancel failed"}},
            {"json": campaign()},
        ],
    )
    assert LoopCommsHook().cancel_campaign("c1").outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 2 and len(no_sleep) == 1


def test_cancel_500_every_time_says_it_may_or_may_not_have_happened(requests_mock, no_sleep):
    requests_mock.post(CANCEL, status_code=500, json={"error": "internal_error", "message": "Cancel failed"})
    with pytest.raises(VendorAPIError, match="Cancel failed.*may or may not have taken effect") as err:
        LoopCommsHook(retry_limit=3).cancel_campaign("c1")
    assert err.value.status_code == 500 and requests_mock.call_count == 3


# ------------------------------------------------------------------ cancel: undocumented refusals
# A refusal's wording is a hint, never proof: the campaign in the body or the send history decides.
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
    assert LoopCommsCampaign(campaign_id="c1").status_target(result) == {
        "campaign_id": "c1",
        "cancel_status": None,
        "cancelled_at": None,
    }


def test_refusal_saying_already_cancelled_with_empty_history_breaks_the_tie_with_a_hint_only(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, json={"sends": []})
    result = LoopCommsHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED
    assert result.vendor_status is None and result.detail["evidence"] == "refusal_wording"
    target = LoopCommsCampaign(campaign_id="c1").status_target(result)
    assert target == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None, "refusal_hint": "cancelled"}
    # The hint only holds while history stays empty: a send showing up is judged from history alone.
    assert classify_history("c1", [], **{k: v for k, v in target.items() if k != "campaign_id"}).is_cancelled
    assert classify_history("c1", [send("completed", True)], refusal_hint="cancelled").state is CampaignState.COMPLETED
    assert classify_history("c1", [send("sending")], refusal_hint="cancelled").state is CampaignState.ACTIVE


@pytest.mark.parametrize(
    "sends",
    [[send("sending")], [send("completed", True, id="s0"), send("sending")]],
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
    requests_mock.post(
        CANCEL,
        status_code=409,
        json={"error": "conflict", "message": "Campaign has not been cancelled: a send is in progress"},
    )
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    with pytest.raises(VendorAPIError, match="has not been cancelled.*its history shows 1 send\\(s\\) running") as err:
        LoopCommsHook().cancel_campaign("c1")
    assert not isinstance(err.value, CampaignFinishedError)
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]
    requests_mock.get(HISTORY, json={"sends": []})  # and with an empty history the negation breaks no tie
    with pytest.raises(VendorAPIError, match="history shows no sends"):
        LoopCommsHook().cancel_campaign("c1")


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
    assert LoopCommsCampaign(campaign_id="c1").status_target(result) == {  # the campaign's own facts: evidence
        "campaign_id": "c1",
        "cancel_status": "Cancelled",
        "cancelled_at": cancelled["campaign"]["cancelled_at"],
    }
    wording = {"error": "conflict", "message": "Campaign already cancelled", **campaign("sending", None)}
    requests_mock.post(CANCEL, status_code=409, json=wording)
    with pytest.raises(UnexpectedAnswerError, match="'sending' and no cancelled_at: it was not cancelled"):
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


# ------------------------------------------------------------------ status reads
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
    requests_mock.get(
        HISTORY, [{"status_code": 500, "json": {"error": "x", "message": "boom"}}, {"json": {"sends": []}}]
    )
    assert LoopCommsHook().get_history("c1") == [] and requests_mock.call_count == 2


# ------------------------------------------------------------------ connection test
def test_test_connection_reads_history_only(requests_mock):
    requests_mock.get(f"{BASE}/v1/admin/campaigns/airflow-connection-test/history", json={"sends": []})
    ok, message = LoopCommsHook().test_connection()
    assert ok and "Access token was accepted" in message and requests_mock.last_request.method == "GET"
    requests_mock.get(
        f"{BASE}/v1/admin/campaigns/airflow-connection-test/history",
        status_code=401,
        json={"error": "unauthorized", "message": "Invalid access token"},
    )
    ok, message = LoopCommsHook().test_connection()
    assert not ok and "rejected the Access token" in message and TOKEN not in message


# ------------------------------------------------------------------ new in the one-vendor-model refactor
@pytest.mark.parametrize(
    "make", [lambda: LoopCommsHook("loop_eu"), lambda: LoopCommsHook(loop_comms_conn_id="loop_eu")]
)
def test_hook_takes_the_connection_id_positionally_or_by_its_vendor_name(requests_mock, set_conn, make):
    set_conn("loop_eu", "loop_comms", "https://eu.loop.test", password="lph_at_eu_token_0123456789")
    requests_mock.post("https://eu.loop.test/v1/admin/campaigns/c1/cancel", json=campaign())
    hook = make()
    assert hook.conn_id == "loop_eu" and hook.cancel_campaign("c1").outcome is CancelOutcome.CANCELLED
    assert requests_mock.last_request.headers["Authorization"] == "Bearer lph_at_eu_token_0123456789"


def test_hook_class_attributes_come_from_the_registry():
    assert (LoopCommsHook.vendor, LoopCommsHook.conn_name_attr, LoopCommsHook.default_conn_name) == (
        "loop_comms",
        "loop_comms_conn_id",
        "loop_comms_default",
    )
    assert LoopCommsHook.password_label == "Access token"


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.cancel_campaign(""),
        lambda h: h.cancel_campaign(None),
        lambda h: h.get_history("  "),
        lambda h: h.get_status(campaign_id=True),
    ],
)
def test_bad_campaign_id_raises_invalid_target_before_any_http(requests_mock, call):
    with pytest.raises(InvalidTarget) as err:
        call(LoopCommsHook())
    assert err.value.fields == ["campaign_id"] and not requests_mock.called


@pytest.mark.parametrize(
    ("cancelled_at_delta", "outcome"),
    [(0, CancelOutcome.CANCELLED), (-5, CancelOutcome.CANCELLED), (-60, CancelOutcome.ALREADY_CANCELLED)],
)
def test_cancelled_at_within_the_clock_skew_tolerance_counts_as_this_cancel(requests_mock, cancelled_at_delta, outcome):
    requests_mock.post(CANCEL, json=campaign("cancelled", iso(cancelled_at_delta)))
    assert LoopCommsHook().cancel_campaign("c1").outcome is outcome


@pytest.mark.parametrize("body", [{"items": "?"}, {"sends": "none"}, {"sends": [1, 2]}, "text"])
def test_get_history_refuses_an_unreadable_body(requests_mock, body):
    requests_mock.get(HISTORY, json=body)
    with pytest.raises(UnexpectedAnswerError, match="not {sends: \\[...\\]}"):
        LoopCommsHook().get_history("c1")


def test_unexpected_answer_is_a_domain_error_not_a_vendor_error(requests_mock):
    requests_mock.post(CANCEL, json=[])
    with pytest.raises(UnexpectedAnswerError) as err:
        LoopCommsHook().cancel_campaign("c1")
    assert not isinstance(err.value, VendorAPIError)


def test_500_then_no_answer_keeps_saying_it_may_have_taken_effect_with_every_attempt(requests_mock, no_sleep):
    import requests

    requests_mock.post(
        CANCEL,
        [{"status_code": 500, "json": {"error": "x", "message": "boom"}}, {"exc": requests.exceptions.ReadTimeout}],
    )
    with pytest.raises(VendorAPIError, match="may or may not have taken effect") as err:
        LoopCommsHook(retry_limit=2).cancel_campaign("c1")
    assert err.value.status_code is None and requests_mock.call_count == 2
    # The re-worded error keeps every attempt of the POST: the 500 answered, then one that may have acted.
    assert err.value.attempts == (Attempt(500, True), Attempt(None, True))
    assert err.value.attempts[-1].may_have_acted and err.value.reached_server


def test_results_are_json_safe_for_xcom(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, json={"sends": [send("cancelled", True)]})
    result = LoopCommsHook().cancel_campaign("c1").to_dict()
    assert json.loads(json.dumps(result)) == result and TOKEN not in json.dumps(result)

"""Loop Health comms pure logic, no HTTP: status tables, refusal wording, history rules and the target model."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, vendor
from airflow_provider_cancel.vendors.loop_comms import (
    CAMPAIGN_STATES,
    SEND_STATES,
    VENDOR,
    LoopCommsCampaign,
    campaign_of,
    classify_history,
    is_cancelled,
    sends_of,
    status_target,
    wording_hint,
)
from tests.unit.support.common import assert_reports_every_field, assert_round_trips
from tests.unit.support.loop_comms import iso, send


# ------------------------------------------------------------------ status tables
@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("draft", CampaignState.DRAFT),
        ("Scheduled", CampaignState.SCHEDULED),
        ("SENDING", CampaignState.ACTIVE),
        ("sent", CampaignState.COMPLETED),
        ("Cancelled", CampaignState.CANCELLED),
        ("canceled", CampaignState.CANCELLED),
        (" FAILED ", CampaignState.FAILED),
        ("paused", CampaignState.UNKNOWN),  # not a comms campaign word
        ("", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_campaign_status_table(raw, state):
    assert map_raw_status(raw, CAMPAIGN_STATES) is state


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("queued", CampaignState.ACTIVE),
        ("Pending", CampaignState.ACTIVE),
        ("sending", CampaignState.ACTIVE),
        ("PROCESSING", CampaignState.ACTIVE),
        ("in_progress", CampaignState.ACTIVE),
        ("sent", CampaignState.COMPLETED),
        ("Completed", CampaignState.COMPLETED),
        ("complete", CampaignState.COMPLETED),
        ("done", CampaignState.COMPLETED),
        ("delivered", CampaignState.COMPLETED),
        ("CANCELLED", CampaignState.CANCELLED),
        ("canceled", CampaignState.CANCELLED),
        ("stopped", CampaignState.CANCELLED),
        ("aborted", CampaignState.CANCELLED),
        ("failed", CampaignState.FAILED),
        ("Error", CampaignState.FAILED),
        ("vanished", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_send_status_table(raw, state):
    assert map_raw_status(raw, SEND_STATES) is state


@pytest.mark.parametrize("table", [CAMPAIGN_STATES, SEND_STATES])
def test_status_table_keys_are_lower_case_so_any_casing_matches(table):
    assert all(key == key.strip().lower() for key in table if key is not None)


def test_registry_entry():
    assert vendor("loop_comms") is VENDOR
    assert VENDOR.default_conn_id == "loop_comms_default" and VENDOR.password_label == "Access token"
    assert import_path(VENDOR.target_kinds["loop_comms"]) is LoopCommsCampaign
    assert import_path(VENDOR.hook).__name__ == "LoopCommsHook"


# ------------------------------------------------------------------ refusal wording
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


@pytest.mark.parametrize(
    ("status", "cancelled_at", "expected"),
    [
        ("cancelled", None, True),
        (" Canceled ", None, True),
        ("sending", "2026-01-01T00:00:00Z", True),
        ("sent", None, False),
        ("draft", "", False),
        (None, None, False),
    ],
)
def test_is_cancelled_table(status, cancelled_at, expected):
    assert is_cancelled(status, cancelled_at) is expected


@pytest.mark.parametrize(
    ("sends", "refusal_hint", "state"),
    [
        ([], "cancelled", CampaignState.CANCELLED),  # the hint breaks the tie of an empty history only
        ([], "Cancelled", CampaignState.CANCELLED),
        ([], "sent", CampaignState.UNKNOWN),
        ([], None, CampaignState.UNKNOWN),
        ([send("completed", True)], "cancelled", CampaignState.COMPLETED),  # once a send shows up: history alone
        ([send("sending")], "cancelled", CampaignState.ACTIVE),
        ([send("stopped", True)], "cancelled", CampaignState.CANCELLED),
    ],
)
def test_classify_history_refusal_hint(sends, refusal_hint, state):
    assert classify_history("c1", sends, refusal_hint=refusal_hint).state is state


def test_classify_history_extra_counts_and_is_json_safe():
    sends = [send("completed", True, id="s0"), send("sending", id="s1")]
    status = classify_history("c1", sends, "cancelled", "2026-01-01T00:00:00Z")
    assert status.extra == {
        "sends": 2,
        "running_send_ids": ["s1"],
        "recipients": 200,
        "delivered": 140,
        "cancelled_at": "2026-01-01T00:00:00Z",
    }
    assert status.target == {"campaign_id": "c1"} and status.vendor == "loop_comms"
    data = status.to_dict()
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"campaign": {"id": "c1", "status": "cancelled"}}, {"id": "c1", "status": "cancelled"}),
        ({"id": "c1", "status": "sent"}, {"id": "c1", "status": "sent"}),  # a bare campaign
        ({"id": "c1", "cancelled_at": None}, {"id": "c1", "cancelled_at": None}),
        ({"ok": True}, None),
        ({"campaign": "c1"}, None),
        ([], None),
        (None, None),
    ],
)
def test_campaign_of(body, expected):
    assert campaign_of(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"sends": []}, []),
        ({"sends": [{"id": "s1"}]}, [{"id": "s1"}]),
        ([{"id": "s1"}], [{"id": "s1"}]),  # a bare list
        ({"items": []}, None),
        ({"sends": "x"}, None),
        ({"sends": [1]}, None),
        (None, None),
    ],
)
def test_sends_of(body, expected):
    assert sends_of(body) == expected


# ------------------------------------------------------------------ the sensor's status target
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("c1",), {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}),
        (
            (" c1 ", " cancelled ", " 2026-01-01T00:00:00Z "),
            {"campaign_id": "c1", "cancel_status": "cancelled", "cancelled_at": "2026-01-01T00:00:00Z"},
        ),
        (("c1", "None", "null", ""), {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}),
        (("c1", "", "  ", "NONE"), {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}),
        (
            (7, None, None, "cancelled"),
            {"campaign_id": "7", "cancel_status": None, "cancelled_at": None, "refusal_hint": "cancelled"},
        ),
    ],
)
def test_status_target_reads_rendered_arguments(args, expected):
    got = status_target(*args)
    assert got == expected and json.loads(json.dumps(got)) == got


@pytest.mark.parametrize("campaign_id", [None, "", "  ", True])
def test_status_target_requires_a_campaign_id(campaign_id):
    with pytest.raises(InvalidTarget) as err:
        status_target(campaign_id, "cancelled")
    assert err.value.fields == ["campaign_id"]


# ------------------------------------------------------------------ target model
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"campaign_id": "c1"}, LoopCommsCampaign(campaign_id="c1")),
        ({"campaign_id": " c1 "}, LoopCommsCampaign(campaign_id="c1")),
        ({"campaign_id": 91}, LoopCommsCampaign(campaign_id="91")),
        (
            {"vendor": "loop_comms", "campaign_id": "c1", "conn_id": " loop_eu "},
            LoopCommsCampaign(campaign_id="c1", conn_id="loop_eu"),
        ),
        # What rendered templates give for "not given": the default connection.
        ({"campaign_id": "c1", "conn_id": ""}, LoopCommsCampaign(campaign_id="c1")),
        ({"campaign_id": "c1", "conn_id": "None"}, LoopCommsCampaign(campaign_id="c1")),
        ({"campaign_id": "c1", "conn_id": "null"}, LoopCommsCampaign(campaign_id="c1")),
        ({"campaign_id": "c1", "conn_id": None}, LoopCommsCampaign(campaign_id="c1")),
    ],
)
def test_parse_happy_path(raw, expected):
    assert LoopCommsCampaign.parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({}, ["campaign_id"]),
        ({"campaign_id": ""}, ["campaign_id"]),
        ({"campaign_id": "   "}, ["campaign_id"]),
        ({"campaign_id": True}, ["campaign_id"]),
        ({"campaign_id": 1.5}, ["campaign_id"]),
        ({"campaign_id": ["c1"]}, ["campaign_id"]),
        ({"campaign_id": "c1", "conn_id": 3}, ["conn_id"]),
        ({"campaign_id": "c1", "channel": "email"}, ["channel"]),  # Arsel's field is unknown here
    ],
)
def test_parse_names_the_bad_field(raw, fields):
    with pytest.raises(InvalidTarget) as err:
        LoopCommsCampaign.parse(raw)
    assert err.value.fields == fields


@pytest.mark.parametrize("rendered_missing", ["None", "null"])
def test_a_rendered_missing_campaign_id_is_not_an_id(rendered_missing):
    with pytest.raises(InvalidTarget, match="campaign_id is required"):
        LoopCommsCampaign.parse({"campaign_id": rendered_missing})


def test_parse_reports_every_bad_field_in_one_error():
    with pytest.raises(InvalidTarget) as err:
        LoopCommsCampaign.parse({"campaign_id": "", "conn_id": 5, "cancel_status": "x", "typo": 1})
    assert_reports_every_field(err.value, ["campaign_id", "cancel_status", "conn_id", "typo"])


def test_single_problem_message_is_unchanged():
    with pytest.raises(InvalidTarget) as err:
        LoopCommsCampaign.parse({"campaign_id": None})
    assert str(err.value) == "campaign_id is required (got None); nothing was sent to the vendor."


@pytest.mark.parametrize(
    "target",
    [
        LoopCommsCampaign(campaign_id="c1"),
        LoopCommsCampaign(campaign_id="c1", conn_id="loop_eu"),
        LoopCommsCampaign.parse({"campaign_id": 42, "conn_id": "None"}),
    ],
)
def test_to_dict_is_json_safe_and_round_trips(target):
    data = assert_round_trips(target)
    assert data == {"vendor": "loop_comms", "campaign_id": target.campaign_id, "conn_id": target.conn_id}


def result(vendor_status, **detail):
    return CancelResult("loop_comms", {"campaign_id": "c1"}, CancelOutcome.ALREADY_CANCELLED, vendor_status, detail)


@pytest.mark.parametrize(
    ("cancel_result", "expected"),
    [
        (None, {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}),
        # The campaign object's own facts are evidence and go into the wait target.
        (
            result("cancelled", evidence="campaign", cancelled_at="2026-01-01T00:00:00Z"),
            {"campaign_id": "c1", "cancel_status": "cancelled", "cancelled_at": "2026-01-01T00:00:00Z"},
        ),
        (
            result("Cancelled", cancelled_at="2026-01-01T00:00:00Z"),  # no evidence key: a campaign answered
            {"campaign_id": "c1", "cancel_status": "Cancelled", "cancelled_at": "2026-01-01T00:00:00Z"},
        ),
        # Judged from history: no cancel fact is injected (history shows the cancel by itself).
        (result(None, evidence="history"), {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}),
        # Only the wording broke the tie of an empty history: the hint, and no facts.
        (
            result(None, evidence="refusal_wording", refusal_hint="cancelled"),
            {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None, "refusal_hint": "cancelled"},
        ),
    ],
)
def test_status_target(cancel_result, expected):
    got = LoopCommsCampaign(campaign_id="c1").status_target(cancel_result)
    assert got == expected and json.loads(json.dumps(got)) == got


def test_status_target_of_a_result_uses_the_id_the_cancel_used():
    done = CancelResult(
        "loop_comms",
        {"campaign_id": "c9"},
        CancelOutcome.CANCELLED,
        "cancelled",
        {"evidence": "campaign", "cancelled_at": iso()},
    )
    assert LoopCommsCampaign.parse({"campaign_id": " c9 "}).status_target(done)["campaign_id"] == "c9"


def test_describe_and_is_broad():
    target = LoopCommsCampaign(campaign_id="c1", conn_id="secret_conn")
    assert target.describe() == "loop_comms campaign_id='c1'" and target.is_broad is False

"""Arsel's pure logic, no HTTP: the status table, the registry entry and the ArselCampaign target model."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, vendor
from airflow_provider_cancel.vendors.arsel import CHANNELS, IDEMPOTENCY_KEY_MAX_LEN, STATES, VENDOR, ArselCampaign
from tests.unit.support.common import assert_reports_every_field, assert_round_trips


# ------------------------------------------------------------------ status table
@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("draft", CampaignState.DRAFT),
        ("scheduled", CampaignState.SCHEDULED),
        ("Scheduled", CampaignState.SCHEDULED),
        ("queued", CampaignState.ACTIVE),
        ("sending", CampaignState.ACTIVE),
        ("SENDING", CampaignState.ACTIVE),
        ("paused", CampaignState.ACTIVE),
        ("sent", CampaignState.COMPLETED),
        ("Sent", CampaignState.COMPLETED),
        (" sent ", CampaignState.COMPLETED),
        ("archived", CampaignState.COMPLETED),
        ("failed", CampaignState.FAILED),
        ("FAILED", CampaignState.FAILED),
        ("cancelled", CampaignState.CANCELLED),
        ("Cancelled", CampaignState.CANCELLED),
        ("canceled", CampaignState.CANCELLED),
        ("teleported", CampaignState.UNKNOWN),
        ("", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_status_table(raw, state):
    assert map_raw_status(raw, STATES) is state


def test_status_table_keys_are_lower_case_so_any_casing_matches():
    assert all(key == key.strip().lower() for key in STATES if key is not None)


def test_registry_entry():
    assert vendor("arsel") is VENDOR
    assert VENDOR.default_conn_id == "arsel_default" and CHANNELS == ("email", "sms")
    assert import_path(VENDOR.target_kinds["arsel"]) is ArselCampaign
    assert import_path(VENDOR.hook).__name__ == "ArselHook"


# ------------------------------------------------------------------ target model: parse
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"campaign_id": "c1"}, ArselCampaign(campaign_id="c1")),
        ({"campaign_id": " c1 ", "channel": "SMS"}, ArselCampaign(campaign_id="c1", channel="sms")),
        ({"campaign_id": 42, "channel": " email "}, ArselCampaign(campaign_id="42", channel="email")),
        (
            {"vendor": "arsel", "campaign_id": "c1", "idempotency_key": " k1 "},
            ArselCampaign(campaign_id="c1", idempotency_key="k1"),
        ),
        ({"campaign_id": "c1", "conn_id": " arsel_eu "}, ArselCampaign(campaign_id="c1", conn_id="arsel_eu")),
        # What rendered templates give for "not given": blank, "None", "null", None.
        ({"campaign_id": "c1", "channel": "", "idempotency_key": "  ", "conn_id": ""}, ArselCampaign(campaign_id="c1")),
        (
            {"campaign_id": "c1", "channel": "None", "idempotency_key": "null", "conn_id": "None"},
            ArselCampaign(campaign_id="c1"),
        ),
        (
            {"campaign_id": "c1", "channel": None, "idempotency_key": None, "conn_id": None},
            ArselCampaign(campaign_id="c1"),
        ),
        (
            {"campaign_id": "c1", "idempotency_key": "k" * IDEMPOTENCY_KEY_MAX_LEN},
            ArselCampaign(campaign_id="c1", idempotency_key="k" * 256),
        ),
    ],
)
def test_parse_happy_path(raw, expected):
    assert ArselCampaign.parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({}, ["campaign_id"]),
        ({"campaign_id": ""}, ["campaign_id"]),
        ({"campaign_id": "   "}, ["campaign_id"]),
        ({"campaign_id": True}, ["campaign_id"]),
        ({"campaign_id": 1.5}, ["campaign_id"]),
        ({"campaign_id": ["c1"]}, ["campaign_id"]),
        ({"campaign_id": "c1", "channel": "fax"}, ["channel"]),
        ({"campaign_id": "c1", "channel": 3}, ["channel"]),
        ({"campaign_id": "c1", "idempotency_key": "k" * 257}, ["idempotency_key"]),
        ({"campaign_id": "c1", "idempotency_key": 12}, ["idempotency_key"]),
        ({"campaign_id": "c1", "conn_id": 5}, ["conn_id"]),
        ({"campaign_id": "c1", "chanel": "sms"}, ["chanel"]),  # a typo is refused, not ignored
    ],
)
def test_parse_names_the_bad_field(raw, fields):
    with pytest.raises(InvalidTarget) as err:
        ArselCampaign.parse(raw)
    assert err.value.fields == fields


@pytest.mark.parametrize("rendered_missing", ["None", "null"])
def test_a_rendered_missing_campaign_id_is_not_an_id(rendered_missing):
    with pytest.raises(InvalidTarget, match="campaign_id is required"):
        ArselCampaign.parse({"campaign_id": rendered_missing})


def test_parse_reports_every_bad_field_in_one_error():
    raw = {"campaign_id": "", "channel": "fax", "idempotency_key": "k" * 300, "conn_id": 7, "typo": 1}
    with pytest.raises(InvalidTarget) as err:
        ArselCampaign.parse(raw)
    assert_reports_every_field(err.value, ["campaign_id", "channel", "conn_id", "idempotency_key", "typo"])


def test_single_problem_message_is_unchanged():
    with pytest.raises(InvalidTarget) as err:
        ArselCampaign.parse({"campaign_id": "  "})
    assert str(err.value) == "campaign_id is required (got an empty value); nothing was sent to the vendor."
    with pytest.raises(InvalidTarget, match=r"^channel must be one of email, sms \(got 'fax'\)\.$"):
        ArselCampaign.parse({"campaign_id": "c1", "channel": "fax"})


def test_parse_refuses_a_non_object():
    with pytest.raises(InvalidTarget, match="must be an object"):
        ArselCampaign.parse(["c1"])  # type: ignore[arg-type]


# ------------------------------------------------------------------ target model: to_dict, status_target
@pytest.mark.parametrize(
    "target",
    [
        ArselCampaign(campaign_id="c1"),
        ArselCampaign(campaign_id="c1", channel="sms", idempotency_key="k", conn_id="arsel_eu"),
        ArselCampaign.parse({"campaign_id": " 7 ", "channel": "EMAIL", "idempotency_key": ""}),
    ],
)
def test_to_dict_is_json_safe_and_round_trips(target):
    assert assert_round_trips(target)["vendor"] == "arsel"


def test_to_dict_lists_every_field():
    assert ArselCampaign(campaign_id="c1", channel="sms").to_dict() == {
        "vendor": "arsel",
        "campaign_id": "c1",
        "channel": "sms",
        "idempotency_key": None,
        "conn_id": None,
    }


@pytest.mark.parametrize(
    ("target", "result", "expected"),
    [
        (ArselCampaign(campaign_id="c1"), None, {"campaign_id": "c1", "channel": None}),
        (ArselCampaign(campaign_id="c1", channel="sms"), None, {"campaign_id": "c1", "channel": "sms"}),
        # After a cancel, the channel the hook resolved (the connection's default) is what to wait on.
        (
            ArselCampaign(campaign_id="c1"),
            CancelResult("arsel", {"campaign_id": "c1", "channel": "sms"}, CancelOutcome.CANCELLED, "cancelled"),
            {"campaign_id": "c1", "channel": "sms"},
        ),
        (
            ArselCampaign(campaign_id="c1", idempotency_key="k", conn_id="x"),
            CancelResult("arsel", {"campaign_id": "c1", "channel": "email"}, CancelOutcome.ALREADY_CANCELLED),
            {"campaign_id": "c1", "channel": "email"},
        ),
    ],
)
def test_status_target(target, result, expected):
    got = target.status_target(result)
    assert got == expected
    assert json.loads(json.dumps(got)) == got


def test_describe_and_is_broad():
    target = ArselCampaign(campaign_id="c1", channel="sms", conn_id="secret_conn")
    assert target.describe() == "arsel campaign_id='c1', channel='sms'"
    assert target.is_broad is False

"""Customer.io's pure logic, no HTTP: the timestamp rules, the registry entry and the trigger target model."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, parse_target, vendor
from airflow_provider_cancel.vendors.customerio import (
    REGION_URLS,
    STATES,
    VENDOR,
    CustomerIoBroadcastTrigger,
    timestamp,
    trigger_of,
    trigger_word,
)
from tests.unit.support.common import assert_reports_every_field, assert_round_trips

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("scheduled", CampaignState.SCHEDULED),
        ("Pending", CampaignState.ACTIVE),
        ("PROCESSED", CampaignState.COMPLETED),
        (" cancelled ", CampaignState.CANCELLED),
        ("canceled", CampaignState.CANCELLED),
        ("sent", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_status_table_ignores_case_and_unknown_keeps_waiting(raw, state):
    assert map_raw_status(raw, STATES) is state


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, None),
        (None, None),
        ("", None),
        (True, None),
        (-5, None),
        ("1796041200", 1796041200.0),
        (1796041200, 1796041200.0),
    ],
)
def test_timestamps_zero_and_null_are_unset(value, expected):
    assert timestamp(value) == expected


@pytest.mark.parametrize(
    ("trigger", "given", "word"),
    [
        ({"cancelled_at": NOW - 5, "processed_at": 0, "scheduled_at": NOW + 60}, None, "cancelled"),
        ({"cancelled_at": NOW - 5, "processed_at": NOW - 9}, None, "cancelled"),  # rate_limit: stopped mid-send
        ({"cancelled_at": 0, "processed_at": NOW - 9}, None, "processed"),
        ({"processed_at": NOW - 9}, NOW - 1, "processed"),  # a read showing it fired beats the cancel's answer
        ({"id": 12, "processed_at": 0, "created_at": NOW - 60}, NOW - 1, "cancelled"),  # the documented read
        ({"id": 12, "processed_at": 0, "created_at": NOW - 60}, None, "pending"),
        ({"processed_at": 0, "scheduled_at": NOW + 60}, None, "scheduled"),
        ({"processed_at": None, "scheduled_at": NOW - 60}, None, "pending"),
        ({"name": "no timestamps"}, None, None),
        (None, NOW, None),
    ],
)
def test_trigger_word(trigger, given, word):
    assert trigger_word(trigger, NOW, given) == word


def test_trigger_of_reads_the_documented_wrapper_and_a_bare_object():
    assert trigger_of({"trigger": {"id": 1}}) == {"id": 1}
    assert trigger_of({"id": 1, "processed_at": 0}) == {"id": 1, "processed_at": 0}
    assert trigger_of({"meta": {}}) is None and trigger_of([1]) is None


def test_registry_entry():
    assert vendor("customerio") is VENDOR
    assert VENDOR.default_conn_id == "customerio_default" and VENDOR.default_base_url == REGION_URLS["us"]
    assert import_path(VENDOR.target_kinds["customerio"]) is CustomerIoBroadcastTrigger
    assert VENDOR.connection_type()["conn-fields"]["region"]["schema"]["enum"] == ["us", "eu"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"broadcast_id": 3, "trigger_id": "12"}, CustomerIoBroadcastTrigger(broadcast_id="3", trigger_id="12")),
        (
            {"broadcast_id": " 3 ", "trigger_id": 12, "conn_id": "cio_eu"},
            CustomerIoBroadcastTrigger(broadcast_id="3", trigger_id="12", conn_id="cio_eu"),
        ),
    ],
)
def test_parse_happy_path(raw, expected):
    assert CustomerIoBroadcastTrigger.parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({"trigger_id": "12"}, ["broadcast_id"]),
        ({"broadcast_id": "abc", "trigger_id": "12"}, ["broadcast_id"]),
        ({"broadcast_id": "3", "trigger_id": "1.5"}, ["trigger_id"]),
        ({"broadcast_id": "3", "trigger_id": "../12"}, ["trigger_id"]),
        ({"broadcast_id": "3", "trigger_id": True}, ["trigger_id"]),
    ],
)
def test_parse_names_the_bad_field(raw, fields):
    with pytest.raises(InvalidTarget) as err:
        CustomerIoBroadcastTrigger.parse(raw)
    assert err.value.fields == fields


def test_parse_reports_every_bad_field_and_says_whole_number():
    with pytest.raises(InvalidTarget) as err:
        CustomerIoBroadcastTrigger.parse({"broadcast_id": "b3", "trigger_id": "", "typo": 1})
    assert_reports_every_field(err.value, ["broadcast_id", "trigger_id", "typo"])
    assert "whole number" in str(err.value)


def test_round_trip_and_kill_switch_kind():
    target = parse_target({"vendor": "customerio", "broadcast_id": 3, "trigger_id": 12})
    assert assert_round_trips(target)["broadcast_id"] == "3"
    assert target.describe() == "customerio broadcast_id='3', trigger_id='12'" and not target.is_broad


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, {"broadcast_id": "3", "trigger_id": "12"}),
        (
            CancelResult("customerio", {}, CancelOutcome.CANCELLED, "cancelled", {"cancelled_at": 1796041200}),
            {"broadcast_id": "3", "trigger_id": "12", "cancelled_at": 1796041200},
        ),
        (
            CancelResult("customerio", {}, CancelOutcome.ALREADY_CANCELLED, "cancelled"),
            {"broadcast_id": "3", "trigger_id": "12"},
        ),
    ],
)
def test_status_target_carries_the_cancels_cancelled_at(result, expected):
    got = CustomerIoBroadcastTrigger(broadcast_id="3", trigger_id="12").status_target(result)
    assert got == expected and json.loads(json.dumps(got)) == got

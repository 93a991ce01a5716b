"""Periskope's pure logic, table-driven and without HTTP: status table, phone, purge rules, the target model."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import parse_target, parse_targets, vendor
from airflow_provider_cancel.vendors.periskope import (
    STATES,
    PeriskopeBroadcast,
    check_phone,
    deleted_cancel_status,
    parse_queue_ids,
    pick_row,
    purge_request,
)
from tests.unit.support.common import assert_round_trips
from tests.unit.support.periskope import BID


def result(vendor_status, outcome=CancelOutcome.CANCELLED) -> CancelResult:
    return CancelResult("periskope", {"broadcast_id": BID}, outcome, vendor_status)


# ------------------------------------------------------------------ registry
def test_the_registry_knows_periskope():
    spec = vendor("periskope")
    assert spec.conn_type == "periskope" and spec.default_conn_id == "periskope_default"
    assert spec.default_base_url == "https://api.periskope.app/v1" and "phone" in spec.extra_fields
    assert parse_target({"vendor": "periskope", "broadcast_id": BID}) == PeriskopeBroadcast(broadcast_id=BID)


# ------------------------------------------------------------------ status table
@pytest.mark.parametrize(
    ("raw", "state"),
    [
        (None, CampaignState.SCHEDULED),
        ("", CampaignState.SCHEDULED),
        ("scheduled", CampaignState.SCHEDULED),
        ("Pending", CampaignState.SCHEDULED),
        ("inprogress", CampaignState.ACTIVE),
        ("INPROGRESS", CampaignState.ACTIVE),
        ("InProgress", CampaignState.ACTIVE),
        (" in-progress ", CampaignState.ACTIVE),
        ("IN_PROGRESS", CampaignState.ACTIVE),
        ("completed", CampaignState.COMPLETED),
        ("Completed", CampaignState.COMPLETED),
        ("stopped", CampaignState.CANCELLED),
        ("STOPPED", CampaignState.CANCELLED),
        ("expired", CampaignState.FAILED),
        ("Failed", CampaignState.FAILED),
        ("warp-speed", CampaignState.UNKNOWN),
        ("paused", CampaignState.UNKNOWN),
        ("deleted", CampaignState.UNKNOWN),
    ],
)
def test_status_table(raw, state):
    assert map_raw_status(raw, STATES) is state


def test_terminal_set_is_completed_stopped_expired():
    documented = ("inprogress", "completed", "stopped", "expired", None)
    terminal = {raw for raw in documented if STATES[raw].is_terminal}
    assert terminal == {"completed", "stopped", "expired"}


def test_only_stopped_counts_as_cancelled():
    assert {raw for raw, state in STATES.items() if state is CampaignState.CANCELLED} == {"stopped"}


# ------------------------------------------------------------------ the connection's phone
@pytest.mark.parametrize(
    ("phone", "sent"),
    [
        (None, None),
        ("", None),
        ("919874532456", "919874532456"),
        (919874532456, "919874532456"),
        (" 919874532456 ", "919874532456"),
        ("phone-abc_123", "phone-abc_123"),
        ("12345678", "12345678"),
    ],
)
def test_check_phone_accepts(phone, sent):
    assert check_phone(phone) == sent


@pytest.mark.parametrize(
    ("phone", "hint"),
    [
        ("+91 98745 32456", "(for '+91 98745 32456' that is '919874532456')"),
        ("+91-98745-32456", "that is '919874532456'"),
        ("98745", ""),
        ("phone 1", ""),
        ("1234567890123456", ""),
        (True, ""),
        (["919874532456"], "that is '919874532456'"),
    ],
)
def test_check_phone_refuses_and_says_how_to_write_it(phone, hint):
    with pytest.raises(ValueError) as err:
        check_phone(phone)
    message = str(err.value)
    assert "'phone'" in message and "digits only" in message and hint in message
    assert "Nothing was sent to Periskope" in message
    if not hint:
        assert "that is" not in message


# ------------------------------------------------------------------ purge rules
@pytest.mark.parametrize(
    ("broadcast_id", "queue_ids", "purge_all", "expected"),
    [
        (BID, None, False, ({"broadcast_id": BID}, "broadcast")),
        (f" {BID} ", "", False, ({"broadcast_id": BID}, "broadcast")),
        (BID, "[]", False, ({"broadcast_id": BID}, "broadcast")),
        (None, ["q1", "q2"], False, ({"queue_ids": ["q1", "q2"]}, "queue_ids")),
        (None, ("q1", 7), False, ({"queue_ids": ["q1", "7"]}, "queue_ids")),
        ("", "q1", False, ({"queue_ids": ["q1"]}, "queue_ids")),
        (None, None, True, ({}, "all")),
        ("", "", True, ({}, "all")),
        (None, "()", True, ({}, "all")),
    ],
)
def test_purge_request(broadcast_id, queue_ids, purge_all, expected):
    assert purge_request(broadcast_id, queue_ids, purge_all) == expected


@pytest.mark.parametrize("text", ['["q1", "q2"]', "['q1', 'q2']", "('q1', 'q2')", "q1,q2", " q1 , q2 ,"])
def test_purge_request_reads_json_python_and_comma_forms_alike(text):
    assert purge_request(None, text, False) == ({"queue_ids": ["q1", "q2"]}, "queue_ids")


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({}, "broadcast_id", "empty purge request empties the whole"),
        ({"broadcast_id": "", "queue_ids": ""}, "broadcast_id", "empty purge request empties the whole"),
        ({"queue_ids": []}, "queue_ids", "non-empty list"),
        ({"broadcast_id": BID, "queue_ids": ["q1"]}, "queue_ids", "not both"),
        ({"purge_all": True, "broadcast_id": BID}, "purge_all", "do not combine it with broadcast_id"),
        ({"purge_all": True, "queue_ids": "q1"}, "purge_all", "do not combine it with queue_ids"),
        ({"purge_all": "true"}, "purge_all", "True or False"),
        ({"purge_all": 1}, "purge_all", "True or False"),
        ({"queue_ids": [["q1"]]}, "queue_ids", "flat list"),
        ({"queue_ids": ["q 1"]}, "queue_ids", "not an id"),
        ({"queue_ids": ["q1", None]}, "queue_ids[]", "queue_ids\\[\\] is required"),
    ],
)
def test_purge_request_refuses_anything_ambiguous(kwargs, field, match):
    args = {"broadcast_id": None, "queue_ids": None, "purge_all": False, **kwargs}
    with pytest.raises(InvalidTarget, match=match) as err:
        purge_request(**args)
    assert err.value.fields == [field]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("", None),
        ("  ", None),
        ("None", None),
        ("[]", None),
        (" [ ] ", None),
        ("()", None),
        ("q1", ["q1"]),
        ("q1, q2", ["q1", "q2"]),
        ('["q1", "q2"]', ["q1", "q2"]),
        ("['q1', 'q2']", ["q1", "q2"]),
        ("[1]", [1]),
    ],
)
def test_parse_queue_ids(text, ids):
    assert parse_queue_ids(text) == ids


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("['q1', 'q2'", "looks like a list but cannot be read"),
        ("'q1', 'q2'", "neither a list nor comma-separated ids"),
        ('{"q1": 1}', "neither a list nor comma-separated ids"),
        ("q1 q2", "neither a list nor comma-separated ids"),
        ("{'a', 'b'}", "neither a list nor comma-separated ids"),
    ],
)
def test_parse_queue_ids_refuses_text_that_is_neither_a_list_nor_ids(text, match):
    with pytest.raises(InvalidTarget, match=match) as err:
        parse_queue_ids(text)
    assert err.value.fields == ["queue_ids"] and "nothing was purged" in str(err.value)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"broadcast_id": BID, "broadcast_status": "stopped"}, "stopped"),
        ({"data": {"broadcast_id": BID, "broadcast_status": "completed"}}, "completed"),
        (
            [
                {"broadcast_id": "other", "broadcast_status": "completed"},
                {"broadcast_id": BID, "broadcast_status": None},
            ],
            None,
        ),
        ({"broadcast_status": "inprogress"}, "inprogress"),  # a row without an id is taken as ours
    ],
)
def test_pick_row(body, status):
    assert pick_row(body, BID)["broadcast_status"] == status


@pytest.mark.parametrize("body", [[{"broadcast_id": "other"}], [], None, "text", [1, 2]])
def test_pick_row_finds_nothing(body):
    assert pick_row(body, BID) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("deleted", "deleted"), (" Deleted ", "deleted"), ("stopped", None), ("", None), (None, None), (1, None)],
)
def test_deleted_cancel_status(value, expected):
    assert deleted_cancel_status(value) == expected


# ------------------------------------------------------------------ target model
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"broadcast_id": BID}, PeriskopeBroadcast(broadcast_id=BID)),
        ({"broadcast_id": f"  {BID} "}, PeriskopeBroadcast(broadcast_id=BID)),
        ({"broadcast_id": 42}, PeriskopeBroadcast(broadcast_id="42")),
        ({"vendor": "periskope", "broadcast_id": BID, "conn_id": ""}, PeriskopeBroadcast(broadcast_id=BID)),
        ({"broadcast_id": BID, "conn_id": "None"}, PeriskopeBroadcast(broadcast_id=BID)),
        ({"broadcast_id": BID, "conn_id": " pk_eu "}, PeriskopeBroadcast(broadcast_id=BID, conn_id="pk_eu")),
    ],
)
def test_target_parse(raw, expected):
    assert PeriskopeBroadcast.parse(raw) == expected


@pytest.mark.parametrize("bad", [None, "", "   ", True, ["b1"], {"id": 1}])
def test_target_parse_refuses_a_missing_broadcast_id(bad):
    with pytest.raises(InvalidTarget, match="broadcast_id is required") as err:
        PeriskopeBroadcast.parse({"broadcast_id": bad})
    assert err.value.fields == ["broadcast_id"]


def test_target_parse_reports_every_bad_field_in_one_error():
    with pytest.raises(InvalidTarget) as err:
        PeriskopeBroadcast.parse({"broadcast_id": "", "conn_id": 7, "broadcastid": BID})
    assert set(err.value.fields) == {"broadcast_id", "conn_id", "broadcastid"}
    assert str(err.value).startswith("3 problems, nothing was sent")
    assert "unknown field 'broadcastid'" in str(err.value)


def test_parse_targets_names_each_bad_target_by_position():
    with pytest.raises(InvalidTarget) as err:
        parse_targets(
            [
                {"vendor": "periskope", "broadcast_id": BID},
                {"vendor": "periskope"},
                {"vendor": "periskope", "broadcast_id": BID},
            ]
        )
    assert err.value.fields == ["targets[1].broadcast_id", "targets[2]"]


@pytest.mark.parametrize(
    "target", [PeriskopeBroadcast(broadcast_id=BID), PeriskopeBroadcast(broadcast_id="b1", conn_id="pk_eu")]
)
def test_to_dict_is_json_safe_and_round_trips(target):
    data = assert_round_trips(target)
    assert data == {"vendor": "periskope", "broadcast_id": target.broadcast_id, "conn_id": target.conn_id}


def test_a_broadcast_target_is_never_broad():
    assert PeriskopeBroadcast(broadcast_id=BID).is_broad is False


@pytest.mark.parametrize(
    ("cancel", "expected"),
    [
        (None, {"broadcast_id": BID}),
        (result("deleted"), {"broadcast_id": BID, "cancel_status": "deleted"}),
        (result("stopped"), {"broadcast_id": BID}),
        (result(None, CancelOutcome.ALREADY_STOPPED), {"broadcast_id": BID}),
        (result("stopped", CancelOutcome.ALREADY_STOPPED), {"broadcast_id": BID}),
    ],
)
def test_status_target(cancel, expected):
    assert PeriskopeBroadcast(broadcast_id=BID).status_target(cancel) == expected


def test_describe_leaves_out_the_connection():
    assert PeriskopeBroadcast(broadcast_id="b1", conn_id="secret_conn").describe() == "periskope broadcast_id='b1'"

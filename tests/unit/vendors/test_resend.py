"""Resend's pure logic, no HTTP: the status tables, the registry entry and both target models."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, parse_target, vendor
from airflow_provider_cancel.vendors.resend import (
    BROADCAST_STATES,
    EMAIL_STATES,
    VENDOR,
    ResendBroadcast,
    ResendEmail,
)
from tests.unit.support.common import assert_round_trips
from tests.unit.support.resend import BID, EID


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("draft", CampaignState.DRAFT),
        ("Scheduled", CampaignState.SCHEDULED),
        ("QUEUED", CampaignState.ACTIVE),
        ("sent", CampaignState.COMPLETED),
        (" canceled ", CampaignState.CANCELLED),
        ("cancelled", CampaignState.CANCELLED),
        ("failed", CampaignState.FAILED),
        ("paused", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_broadcast_status_table(raw, state):
    assert map_raw_status(raw, BROADCAST_STATES) is state


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("scheduled", CampaignState.SCHEDULED),
        ("queued", CampaignState.ACTIVE),
        ("Canceled", CampaignState.CANCELLED),
        *(
            (word, CampaignState.COMPLETED)
            for word in ("sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained")
        ),
        ("FAILED", CampaignState.FAILED),
        ("suppressed", CampaignState.FAILED),
        ("teleported", CampaignState.UNKNOWN),
    ],
)
def test_email_status_table(raw, state):
    assert map_raw_status(raw, EMAIL_STATES) is state


def test_registry_entry_has_two_kinds_with_their_operators():
    assert vendor("resend") is VENDOR and VENDOR.default_conn_id == "resend_default"
    assert import_path(VENDOR.target_kinds["resend_broadcast"]) is ResendBroadcast
    assert import_path(VENDOR.target_kinds["resend_email"]) is ResendEmail
    models = {import_path(p).target_model for p in VENDOR.operators}
    assert models == {ResendBroadcast, ResendEmail}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"vendor": "resend_broadcast", "broadcast_id": f" {BID} "}, ResendBroadcast(broadcast_id=BID)),
        (
            {"vendor": "resend_email", "email_id": EID, "conn_id": "resend_eu"},
            ResendEmail(email_id=EID, conn_id="resend_eu"),
        ),
    ],
)
def test_parse_and_round_trip(raw, expected):
    target = parse_target(raw)
    assert target == expected
    assert_round_trips(target)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"vendor": "resend_broadcast"}, "broadcast_id"),
        ({"vendor": "resend_broadcast", "broadcast_id": "a/b"}, "broadcast_id"),
        ({"vendor": "resend_email", "email_id": ["e"]}, "email_id"),
        ({"vendor": "resend_email", "broadcast_id": BID}, "broadcast_id"),  # wrong kind's field
    ],
)
def test_bad_fields_are_named(raw, field):
    with pytest.raises(InvalidTarget) as err:
        parse_target(raw)
    assert any(field in name for name in err.value.fields)


def test_status_targets():
    b, e = ResendBroadcast(broadcast_id=BID), ResendEmail(email_id=EID)
    done = CancelResult("resend", {}, CancelOutcome.CANCELLED)
    assert b.status_target() == {"broadcast_id": BID}
    assert b.status_target(done) == {"broadcast_id": BID, "draft_means_cancelled": True}
    assert e.status_target() == e.status_target(done) == {"email_id": EID}
    assert not b.is_broad and not e.is_broad

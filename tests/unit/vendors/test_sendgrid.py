"""SendGrid's pure logic, no HTTP: the batch and Single Send rules, extras, the registry entry and both targets."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, parse_target, vendor
from airflow_provider_cancel.vendors.sendgrid import (
    SINGLE_SEND_STATES,
    VENDOR,
    SendGridScheduledSend,
    SendGridSingleSend,
    batch_state,
    on_behalf_of,
    region,
    seconds_until_reset,
    send_at,
)
from tests.unit.support.common import assert_reports_every_field, assert_round_trips


@pytest.mark.parametrize(
    ("hold", "send_at_s", "now", "state"),
    [
        ("cancel", None, 0, CampaignState.CANCELLED),
        ("CANCEL", 100, 200, CampaignState.CANCELLED),  # discarded at its send time
        ("pause", None, 0, CampaignState.SCHEDULED),  # held: sent if the pause is lifted
        (None, None, 0, CampaignState.UNKNOWN),  # nothing tells: never done
        (None, 100, 50, CampaignState.SCHEDULED),
        (None, 100, 100, CampaignState.COMPLETED),  # it went out
        ("stop", 100, 200, CampaignState.UNKNOWN),  # an unknown word is never guessed from the time
    ],
)
def test_batch_state(hold, send_at_s, now, state):
    assert batch_state(hold, send_at_s, now) is state


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("draft", CampaignState.DRAFT),
        ("Scheduled", CampaignState.SCHEDULED),
        ("triggered", CampaignState.COMPLETED),
        ("sent", CampaignState.UNKNOWN),
    ],
)
def test_single_send_table(raw, state):
    assert map_raw_status(raw, SINGLE_SEND_STATES) is state


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        (1767225600, 1767225600),
        ("1767225600", 1767225600),
        ("2026-01-01T00:00:00Z", 1767225600),
        ("2026-01-01T00:00:00", 1767225600),
        (1767225600.9, 1767225600),
    ],
)
def test_send_at(raw, expected):
    assert send_at(raw) == expected


@pytest.mark.parametrize("bad", [True, "tomorrow", -5, [1], "2026-13-01"])
def test_bad_send_at(bad):
    with pytest.raises(ValueError, match="Unix seconds|after 1970"):
        send_at(bad)


@pytest.mark.parametrize(
    ("reset", "expected"),
    [("1000", "40"), ("960.5", "0.5"), ("900", "0"), (None, None), ("", None), ("soon", None), ("nan", None)],
)
def test_seconds_until_reset(reset, expected):
    assert seconds_until_reset(reset, now=960.0) == expected


def test_region_and_on_behalf_of():
    assert (region(None), region(" EU "), region("global")) == ("global", "eu", "global")
    with pytest.raises(ValueError, match="global or eu"):
        region("us")
    assert on_behalf_of(" subuser1 ") == "subuser1" and on_behalf_of("") is None
    with pytest.raises(ValueError, match="one line"):
        on_behalf_of("a\nb")


def test_registry_entry():
    assert vendor("sendgrid") is VENDOR and VENDOR.default_base_url == "https://api.sendgrid.com"
    assert import_path(VENDOR.target_kinds["sendgrid_batch"]) is SendGridScheduledSend
    assert import_path(VENDOR.target_kinds["sendgrid_single_send"]) is SendGridSingleSend


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"vendor": "sendgrid_batch", "batch_id": "b1"}, SendGridScheduledSend(batch_id="b1")),
        (
            {"vendor": "sendgrid_batch", "batch_id": "b1", "action": "PAUSE"},
            SendGridScheduledSend(batch_id="b1", action="pause"),
        ),
        (
            {"vendor": "sendgrid_batch", "batch_id": "b1", "send_at": "1767225600"},
            SendGridScheduledSend(batch_id="b1", send_at=1767225600),
        ),
        ({"vendor": "sendgrid_single_send", "single_send_id": " ss1 "}, SendGridSingleSend(single_send_id="ss1")),
    ],
)
def test_targets_parse_through_the_registry(raw, expected):
    assert parse_target(raw) == expected
    assert_round_trips(expected)


def test_batch_target_names_every_bad_field():
    with pytest.raises(InvalidTarget) as err:
        SendGridScheduledSend.parse({"batch_id": "a/b", "action": "delete", "send_at": "soon"})
    assert_reports_every_field(err.value, ["batch_id", "action", "send_at"])


def test_status_targets():
    result = CancelResult("sendgrid", {}, CancelOutcome.CANCELLED)
    assert SendGridScheduledSend(batch_id="b1", send_at=5).status_target(result) == {"batch_id": "b1", "send_at": 5}
    assert SendGridScheduledSend(batch_id="b1", action="pause").status_target(result) is None
    assert SendGridSingleSend(single_send_id="ss1").status_target(result) is None
    assert SendGridSingleSend(single_send_id="ss1").status_target() == {"single_send_id": "ss1"}

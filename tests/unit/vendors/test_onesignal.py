"""OneSignal's pure logic, no HTTP: the status rules, the registry entry and the notification target model."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, map_raw_status
from airflow_provider_cancel.vendors import import_path, parse_target, vendor
from airflow_provider_cancel.vendors.onesignal import (
    APP_ID,
    STATES,
    VENDOR,
    OneSignalNotification,
    notification_word,
)
from tests.unit.support.common import assert_round_trips

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"canceled": True, "completed_at": None}, "canceled"),
        ({"canceled": "true", "completed_at": NOW - 5}, "canceled"),  # cancelled mid-send, then done
        ({"canceled": False, "completed_at": NOW - 5}, "completed"),
        ({"canceled": False, "completed_at": None, "send_after": NOW + 60}, "scheduled"),
        ({"canceled": False, "completed_at": None, "send_after": NOW - 60, "remaining": 10}, "sending"),
        ({"canceled": False, "completed_at": 0}, "sending"),
        ({"id": "n1"}, None),
        ([], None),
    ],
)
def test_notification_word(body, word):
    assert notification_word(body, NOW) == word


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("scheduled", CampaignState.SCHEDULED),
        ("Sending", CampaignState.ACTIVE),
        ("COMPLETED", CampaignState.COMPLETED),
        ("canceled", CampaignState.CANCELLED),
        ("cancelled", CampaignState.CANCELLED),
        ("paused", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_status_table(raw, state):
    assert map_raw_status(raw, STATES) is state


def test_registry_entry():
    assert vendor("onesignal") is VENDOR and VENDOR.default_conn_id == "onesignal_default"
    assert import_path(VENDOR.target_kinds["onesignal"]) is OneSignalNotification
    assert APP_ID.match(VENDOR.sandbox_extras["app_id"])
    fields = VENDOR.connection_type()["conn-fields"]
    assert {"app_id", "scheme", "timeout"} <= set(fields)


def test_parse_round_trip_and_bad_ids():
    target = parse_target({"vendor": "onesignal", "notification_id": " n-1 "})
    assert target == OneSignalNotification(notification_id="n-1") and not target.is_broad
    assert_round_trips(target)
    assert target.status_target() == {"notification_id": "n-1"}
    for bad in ("", "a/b", ["n1"], None):
        with pytest.raises(InvalidTarget) as err:
            OneSignalNotification.parse({"notification_id": bad})
        assert err.value.fields == ["notification_id"]

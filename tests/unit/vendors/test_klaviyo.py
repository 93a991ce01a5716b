"""Klaviyo's pure logic, no HTTP: both status tables, the combined rule, the registry entry and the target model."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, vendor
from airflow_provider_cancel.vendors.klaviyo import (
    CAMPAIGN_STATES,
    DEFAULT_REVISION,
    SEND_JOB_STATES,
    VENDOR,
    KlaviyoCampaign,
    campaign_state,
    combined_state,
    revision,
)
from tests.unit.support.common import assert_reports_every_field, assert_round_trips


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Draft", CampaignState.DRAFT),
        ("Scheduled", CampaignState.SCHEDULED),
        ("Preparing to schedule", CampaignState.SCHEDULED),
        ("Preparing to send", CampaignState.ACTIVE),
        ("Adding Recipients", CampaignState.ACTIVE),
        ("Queued without Recipients", CampaignState.ACTIVE),
        ("SENDING", CampaignState.ACTIVE),
        ("Sending Segments", CampaignState.ACTIVE),
        ("Sent", CampaignState.COMPLETED),
        (" variations sent ", CampaignState.COMPLETED),
        ("Cancelled", CampaignState.CANCELLED),
        ("Cancelled: Smart Sending", CampaignState.CANCELLED),
        ("cancelled: billing limit", CampaignState.CANCELLED),
        ("Canceled", CampaignState.CANCELLED),
        ("Unknown", CampaignState.UNKNOWN),  # Klaviyo's own "Unknown" is never done
        ("Cancellation pending", CampaignState.UNKNOWN),  # not a "Cancelled..." word
        ("", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_campaign_status_words_in_any_case(raw, state):
    assert campaign_state(raw) is state


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("queued", CampaignState.SCHEDULED),
        ("Processing", CampaignState.ACTIVE),
        ("complete", CampaignState.COMPLETED),
        ("CANCELLED", CampaignState.CANCELLED),
        ("paused", CampaignState.UNKNOWN),
    ],
)
def test_send_job_status_table(raw, state):
    assert map_raw_status(raw, SEND_JOB_STATES) is state


def test_tables_are_lower_case():
    assert all(k == k.strip().lower() for table in (CAMPAIGN_STATES, SEND_JOB_STATES) for k in table if k)


@pytest.mark.parametrize(
    ("campaign", "job", "state"),
    [
        ("Cancelled", "cancelled", CampaignState.CANCELLED),
        ("Cancelled", None, CampaignState.CANCELLED),  # no send job to read
        ("Cancelled", "processing", CampaignState.ACTIVE),  # still draining: keep waiting
        ("Cancelled", "queued", CampaignState.ACTIVE),
        ("Cancelled", "complete", CampaignState.CANCELLED),
        ("Sending", "cancelled", CampaignState.ACTIVE),  # the campaign decides
        ("Sent", "complete", CampaignState.COMPLETED),
        ("Draft", "cancelled", CampaignState.DRAFT),  # reverted
        ("Unknown", "cancelled", CampaignState.UNKNOWN),
    ],
)
def test_combined_state(campaign, job, state):
    assert combined_state(campaign, job) is state


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, DEFAULT_REVISION),
        ("", DEFAULT_REVISION),
        (" 2025-10-15 ", "2025-10-15"),
        ("2026-10-15.pre", "2026-10-15.pre"),
    ],
)
def test_revision(raw, expected):
    assert revision(raw) == expected


@pytest.mark.parametrize("bad", ["2026-7-15", "latest", 20260715, "2026-07-15; x"])
def test_bad_revision(bad):
    with pytest.raises(ValueError, match="must be a date"):
        revision(bad)


def test_registry_entry():
    assert vendor("klaviyo") is VENDOR and VENDOR.default_conn_id == "klaviyo_default"
    assert import_path(VENDOR.target_kinds["klaviyo"]) is KlaviyoCampaign
    assert VENDOR.connection_type()["conn-fields"]["revision"]["schema"]["default"] == DEFAULT_REVISION


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"campaign_id": "c1"}, KlaviyoCampaign(campaign_id="c1")),
        ({"campaign_id": " c1 ", "action": "REVERT"}, KlaviyoCampaign(campaign_id="c1", action="revert")),
        ({"campaign_id": "c1", "action": "None"}, KlaviyoCampaign(campaign_id="c1")),
        ({"vendor": "klaviyo", "campaign_id": "c1", "conn_id": "k2"}, KlaviyoCampaign(campaign_id="c1", conn_id="k2")),
    ],
)
def test_target_parse(raw, expected):
    assert KlaviyoCampaign.parse(raw) == expected
    assert_round_trips(expected)


def test_target_names_every_bad_field():
    with pytest.raises(InvalidTarget) as err:
        KlaviyoCampaign.parse({"campaign_id": "../x", "action": "pause"})
    assert_reports_every_field(err.value, ["campaign_id", "action"])


def test_status_target_waits_after_cancel_but_not_after_revert():
    result = CancelResult("klaviyo", {"campaign_id": "c1"}, CancelOutcome.CANCELLED)
    assert KlaviyoCampaign(campaign_id="c1").status_target(result) == {"campaign_id": "c1"}
    assert KlaviyoCampaign(campaign_id="c1", action="revert").status_target(result) is None
    assert KlaviyoCampaign(campaign_id="c1", action="revert").status_target() == {
        "campaign_id": "c1"
    }  # a dry run reads

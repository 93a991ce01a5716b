"""Mailchimp's pure logic, no HTTP: the status table, the data-centre rules, the registry entry and the target."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CampaignState, CancelOutcome, CancelResult, map_raw_status
from airflow_provider_cancel.vendors import import_path, vendor
from airflow_provider_cancel.vendors.mailchimp import (
    STATES,
    VENDOR,
    MailchimpCampaign,
    key_data_center,
    require_data_center,
    resolve_base_url,
)
from tests.unit.support.common import assert_reports_every_field, assert_round_trips

DEFAULT = VENDOR.default_base_url


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("save", CampaignState.DRAFT),
        ("Schedule", CampaignState.SCHEDULED),
        ("sending", CampaignState.ACTIVE),
        ("paused", CampaignState.ACTIVE),
        ("canceling", CampaignState.ACTIVE),  # transitional: keep waiting
        ("CANCELED", CampaignState.CANCELLED),
        ("cancelled", CampaignState.CANCELLED),
        (" sent ", CampaignState.COMPLETED),
        ("archived", CampaignState.COMPLETED),
        ("deleted", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_status_table(raw, state):
    assert map_raw_status(raw, STATES) is state


@pytest.mark.parametrize(
    ("key", "dc"),
    [
        ("abc123-us6", "us6"),
        ("abc-US19", "us19"),
        ("abc", None),
        ("-us6", None),
        ("abc-notadc", None),
        ("a-b-us2", "us2"),
    ],
)
def test_key_data_center(key, dc):
    assert key_data_center(key) == dc


@pytest.mark.parametrize(
    ("base", "key", "extra", "expected"),
    [
        (DEFAULT, "k-us6", None, "https://us6.api.mailchimp.com/3.0"),
        (DEFAULT, "oauth-token", "us2", "https://us2.api.mailchimp.com/3.0"),
        (DEFAULT, "k-us6", "US6", "https://us6.api.mailchimp.com/3.0"),
        ("https://us6.api.mailchimp.com/3.0", "k-us6", "", "https://us6.api.mailchimp.com/3.0"),
        ("http://127.0.0.1:8765/mailchimp/3.0", "k-us6", None, "http://127.0.0.1:8765/mailchimp/3.0"),
    ],
)
def test_resolve_base_url(base, key, extra, expected):
    assert resolve_base_url(base, key, extra) == expected


@pytest.mark.parametrize(
    ("base", "key", "extra", "match"),
    [
        (DEFAULT, "k-us6", "us7", "data_center extra says 'us7'"),
        ("https://us19.api.mailchimp.com/3.0", "k-us6", None, "'us19' data centre but the key belongs to 'us6'"),
        (DEFAULT, "k-us6", "us 6", "must look like us6"),
    ],
)
def test_resolve_base_url_refuses_what_cannot_work(base, key, extra, match):
    with pytest.raises(ValueError, match=match):
        resolve_base_url(base, key, extra)


def test_without_a_data_centre_the_placeholder_stays_and_is_refused_before_a_request():
    assert resolve_base_url(DEFAULT, "oauth-token", None) == DEFAULT
    with pytest.raises(ValueError, match="no data centre"):
        require_data_center(DEFAULT)
    assert require_data_center("https://us6.api.mailchimp.com/3.0") == "https://us6.api.mailchimp.com/3.0"


def test_registry_entry():
    assert vendor("mailchimp") is VENDOR and VENDOR.default_conn_id == "mailchimp_default"
    assert import_path(VENDOR.target_kinds["mailchimp"]) is MailchimpCampaign


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"campaign_id": "c1", "action": "cancel_send"}, MailchimpCampaign(campaign_id="c1", action="cancel_send")),
        ({"campaign_id": " c1 ", "action": "Cancel-Send"}, MailchimpCampaign(campaign_id="c1", action="cancel_send")),
        ({"campaign_id": "c1", "action": "UNSCHEDULE"}, MailchimpCampaign(campaign_id="c1", action="unschedule")),
    ],
)
def test_target_parse(raw, expected):
    assert MailchimpCampaign.parse(raw) == expected
    assert_round_trips(expected)


@pytest.mark.parametrize("missing", [None, "", "None"])
def test_the_action_is_never_guessed(missing):
    with pytest.raises(InvalidTarget, match="action is required.*never guessed") as err:
        MailchimpCampaign.parse({"campaign_id": "c1", "action": missing})
    assert err.value.fields == ["action"]


def test_target_names_every_bad_field():
    with pytest.raises(InvalidTarget) as err:
        MailchimpCampaign.parse({"campaign_id": "..", "action": "pause"})
    assert_reports_every_field(err.value, ["campaign_id", "action"])


def test_status_target_waits_after_cancel_send_but_not_after_unschedule():
    result = CancelResult("mailchimp", {"campaign_id": "c1"}, CancelOutcome.CANCELLED)
    assert MailchimpCampaign(campaign_id="c1", action="cancel_send").status_target(result) == {"campaign_id": "c1"}
    assert MailchimpCampaign(campaign_id="c1", action="unschedule").status_target(result) is None
    assert MailchimpCampaign(campaign_id="c1", action="unschedule").status_target() == {"campaign_id": "c1"}

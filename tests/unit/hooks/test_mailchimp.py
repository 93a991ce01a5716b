"""MailchimpHook against requests-mock: data centre and auth, the two actions, refusals read back, status."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.mailchimp import MailchimpHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.unit.support.mailchimp import BASE, CAMPAIGN, CANCEL_SEND, KEY, UNSCHEDULE, problem, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"anystring:{key}".encode()).decode()


@pytest.mark.parametrize(("action", "url"), [("cancel_send", CANCEL_SEND), ("unschedule", UNSCHEDULE)])
def test_each_action_posts_its_own_endpoint_with_basic_auth(requests_mock, action, url):
    requests_mock.post(url, status_code=204)
    result = MailchimpHook().cancel_campaign("c1", action=action)
    assert result.outcome is CancelOutcome.CANCELLED and result.target == {"campaign_id": "c1", "action": action}
    assert requests_mock.last_request.headers["Authorization"] == basic(KEY)
    assert requests_mock.call_count == 1


def test_an_empty_base_url_is_the_keys_data_centre(requests_mock, set_conn):
    set_default_conn(set_conn, host="")
    requests_mock.get("https://us6.api.mailchimp.com/3.0/ping", json={"health_status": "Everything's Chimpy!"})
    ok, message = MailchimpHook().test_connection()
    assert ok and "https://us6.api.mailchimp.com/3.0" in message


def test_an_oauth_token_is_bearer_and_needs_the_data_centre(requests_mock, set_conn):
    set_default_conn(set_conn, host="", password="oauthtoken123", data_center="us2")
    requests_mock.get("https://us2.api.mailchimp.com/3.0/campaigns/c1", json={"status": "sending"})
    MailchimpHook().get_status("c1")
    assert requests_mock.last_request.headers["Authorization"] == "Bearer oauthtoken123"
    set_default_conn(set_conn, host="", password="oauthtoken123")
    requests_mock.reset_mock()
    with pytest.raises(ConnectionConfigError, match="no data centre"):
        MailchimpHook().get_status("c1")
    ok, message = MailchimpHook().test_connection()
    assert not ok and "no data centre" in message
    assert not requests_mock.called


@pytest.mark.parametrize(
    ("host", "extra", "match"),
    [
        ("https://us19.api.mailchimp.com/3.0", {}, "'us19' data centre but the key belongs to 'us6'"),
        ("", {"data_center": "us7"}, "data_center extra says 'us7'"),
        ("", {"data_center": "europe"}, "must look like us6"),
    ],
)
def test_a_connection_that_cannot_work_fails_before_any_http(requests_mock, set_conn, host, extra, match):
    set_default_conn(set_conn, host=host, **extra)
    with pytest.raises(ConnectionConfigError, match=match):
        MailchimpHook().cancel_campaign("c1", action="cancel_send")
    assert not requests_mock.called


def test_the_basic_credential_is_masked(requests_mock, monkeypatch):
    masked = []
    monkeypatch.setattr("airflow_provider_cancel.hooks.base._mask", masked.append)
    requests_mock.get(CAMPAIGN, json={"status": "sending"})
    MailchimpHook().get_status("c1")
    assert KEY in masked and basic(KEY).split(" ")[1] in masked


@pytest.mark.parametrize(
    ("action", "word"),
    [("cancel_send", "canceled"), ("cancel_send", "Canceling"), ("unschedule", "save"), ("unschedule", "canceled")],
)
def test_a_400_on_something_already_stopped_is_already_cancelled(requests_mock, action, word):
    url = CANCEL_SEND if action == "cancel_send" else UNSCHEDULE
    requests_mock.post(url, status_code=400, json=problem(400))
    requests_mock.get(CAMPAIGN, json={"id": "c1", "status": word})
    result = MailchimpHook().cancel_campaign("c1", action=action)
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.vendor_status == word
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]


@pytest.mark.parametrize("action", ["cancel_send", "unschedule"])
def test_a_400_on_a_sent_campaign_fails_clearly(requests_mock, action):
    requests_mock.post(CANCEL_SEND if action == "cancel_send" else UNSCHEDULE, status_code=400, json=problem(400))
    requests_mock.get(CAMPAIGN, json={"status": "sent"})
    with pytest.raises(CampaignFinishedError, match="already finished with status 'sent'"):
        MailchimpHook().cancel_campaign("c1", action=action)


@pytest.mark.parametrize(
    ("action", "word", "hint"),
    [
        ("unschedule", "sending", "unschedule cannot stop it, use action 'cancel_send'"),
        ("cancel_send", "schedule", "it has not started sending: use action 'unschedule'"),
        ("cancel_send", "save", "it is a draft: nothing is being sent"),
    ],
)
def test_the_wrong_action_fails_and_names_the_right_one_without_trying_it(requests_mock, action, word, hint):
    requests_mock.post(CANCEL_SEND, status_code=400, json=problem(400))
    requests_mock.post(UNSCHEDULE, status_code=400, json=problem(400))
    requests_mock.get(CAMPAIGN, json={"status": word})
    with pytest.raises(VendorAPIError, match=hint) as err:
        MailchimpHook().cancel_campaign("c1", action=action)
    assert err.value.status_code == 400 and err.value.code == "Invalid Resource"
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]  # the other action is never sent


@pytest.mark.parametrize("status", [401, 403, 404])
def test_other_errors_propagate_with_title_and_detail(requests_mock, status):
    requests_mock.post(CANCEL_SEND, status_code=status, json=problem(status, "Nope.", "Forbidden"))
    with pytest.raises(VendorAPIError) as err:
        MailchimpHook().cancel_campaign("c1", action="cancel_send")
    assert (err.value.status_code, err.value.code, err.value.message) == (status, "Forbidden", "Nope.")
    assert requests_mock.call_count == 1


def test_429_and_5xx_are_retried_as_the_same_request(requests_mock, no_sleep):
    requests_mock.post(
        CANCEL_SEND,
        [
            {"status_code": 429, "json": problem(429, "You have exceeded the limit of 10 simultaneous connections.")},
            {"status_code": 503, "json": problem(503, "down")},
            {"status_code": 204},
        ],
    )
    assert MailchimpHook().cancel_campaign("c1", action="cancel_send").outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 3 and len(no_sleep) == 2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda h: h.cancel_campaign("c1", action=""), "action"),
        (lambda h: h.cancel_campaign("c1", action="delete"), "action"),
        (lambda h: h.cancel_campaign(" ", action="unschedule"), "campaign_id"),
        (lambda h: h.get_status(None), "campaign_id"),
    ],
)
def test_bad_arguments_fail_before_any_http(requests_mock, call, field):
    with pytest.raises(InvalidTarget) as err:
        call(MailchimpHook())
    assert err.value.fields == [field] and not requests_mock.called


def test_status_asks_only_for_the_fields_it_reads(requests_mock):
    requests_mock.get(CAMPAIGN, json={"id": "c1", "status": "canceling", "type": "regular"})
    status = MailchimpHook().get_status("c1")
    assert status.state is CampaignState.ACTIVE and status.raw_status == "canceling"
    assert requests_mock.last_request.qs == {"fields": ["id,status,send_time,type"]}


def test_status_404_is_an_error(requests_mock):
    requests_mock.get(
        CAMPAIGN, status_code=404, json=problem(404, "The requested resource could not be found.", "Resource Not Found")
    )
    with pytest.raises(VendorAPIError) as err:
        MailchimpHook().get_status("c1")
    assert err.value.status_code == 404


def test_ids_are_quoted_into_one_path_segment(requests_mock):
    requests_mock.post(f"{BASE}/campaigns/..%2Fx/actions/unschedule", status_code=204)
    MailchimpHook().cancel_campaign("../x", action="unschedule")
    assert requests_mock.called


def test_a_refusal_after_a_lost_answer_is_our_own_cancel(requests_mock, no_sleep):
    import requests

    requests_mock.post(
        CANCEL_SEND, [{"exc": requests.exceptions.ConnectionError("reset")}, {"status_code": 400, "json": problem(400)}]
    )
    requests_mock.get(CAMPAIGN, json={"status": "canceling"})
    result = MailchimpHook().cancel_campaign("c1", action="cancel_send")
    assert result.outcome is CancelOutcome.CANCELLED and "earlier attempt" in result.detail["inferred"]

"""SendGridHook against requests-mock: region and subuser, the batch hold and its read-back, Single Sends, status."""

from __future__ import annotations

import json
import time

import pytest

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.sendgrid import SendGridHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.conftest import API_KEY
from tests.unit.support.sendgrid import BASE, HOLD, HOLDS, SINGLE, UNSCHEDULE, errors, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


@pytest.mark.parametrize("action", ["cancel", "pause"])
def test_a_hold_is_posted_with_the_batch_id(requests_mock, action):
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": action})
    result = SendGridHook().cancel_scheduled_send("b1", action=action)
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == action
    assert json.loads(requests_mock.last_request.body) == {"batch_id": "b1", "status": action}
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "on-behalf-of" not in requests_mock.last_request.headers


@pytest.mark.parametrize(
    ("host", "extra", "url"),
    [("", {}, "https://api.sendgrid.com"), ("", {"region": "eu"}, "https://api.eu.sendgrid.com")],
)
def test_an_empty_base_url_is_the_regions_host(requests_mock, set_conn, host, extra, url):
    set_default_conn(set_conn, host=host, **extra)
    requests_mock.get(f"{url}/v3/scopes", json={"scopes": []})
    assert SendGridHook().test_connection()[0]


def test_a_host_of_the_other_region_is_refused_before_any_http(requests_mock, set_conn):
    set_default_conn(set_conn, host="https://api.sendgrid.com", region="eu")
    with pytest.raises(ConnectionConfigError, match="global host but the region extra says 'eu'"):
        SendGridHook().cancel_scheduled_send("b1")
    assert not requests_mock.called


def test_on_behalf_of_is_sent_as_its_header(requests_mock, set_conn):
    set_default_conn(set_conn, on_behalf_of="subuser-eu")
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": "cancel"})
    SendGridHook().cancel_scheduled_send("b1")
    assert requests_mock.last_request.headers["on-behalf-of"] == "subuser-eu"


def test_a_send_time_that_has_passed_fails_before_any_http(requests_mock):
    with pytest.raises(CampaignFinishedError, match="has passed: it was sent. SendGrid has no API to stop"):
        SendGridHook().cancel_scheduled_send("b1", send_at_s=int(time.time()) - 60)
    assert not requests_mock.called


def test_within_ten_minutes_of_the_send_time_it_still_tries_and_says_so(requests_mock):
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": "cancel"})
    result = SendGridHook().cancel_scheduled_send("b1", send_at_s=int(time.time()) + 120)
    assert result.outcome is CancelOutcome.CANCELLED and "10 minutes" in result.detail["warning"]


@pytest.mark.parametrize("refusal", [400, 409, 422])
@pytest.mark.parametrize(("asked", "held"), [("cancel", "cancel"), ("pause", "pause"), ("pause", "cancel")])
def test_a_refusal_with_the_hold_in_place_is_already_cancelled(requests_mock, refusal, asked, held):
    requests_mock.post(HOLDS, status_code=refusal, json=errors("already exists"))
    requests_mock.get(HOLD, json=[{"batch_id": "b1", "status": held}])
    result = SendGridHook().cancel_scheduled_send("b1", action=asked)
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.vendor_status == held
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]


def test_a_paused_batch_asked_to_cancel_is_changed_to_cancel(requests_mock):
    requests_mock.post(HOLDS, status_code=400, json=errors("already exists"))
    requests_mock.get(HOLD, json=[{"batch_id": "b1", "status": "pause"}])
    requests_mock.patch(HOLD, status_code=204)
    result = SendGridHook().cancel_scheduled_send("b1")
    assert result.outcome is CancelOutcome.CANCELLED and result.detail["was"] == "pause"
    assert json.loads(requests_mock.last_request.body) == {"status": "cancel"}


@pytest.mark.parametrize("no_hold", [{"json": []}, {"status_code": 404, "json": errors("resource not found")}])
def test_a_refusal_without_a_hold_fails_with_sendgrids_message_and_a_hint(requests_mock, no_hold):
    requests_mock.post(HOLDS, status_code=400, json=errors("invalid batch id", field="batch_id"))
    requests_mock.get(HOLD, **no_hold)
    with pytest.raises(
        VendorAPIError, match="invalid batch id \\(SendGrid holds no cancel or pause.*batch_id given"
    ) as err:
        SendGridHook().cancel_scheduled_send("b1")
    assert (err.value.status_code, err.value.code) == (400, "batch_id")


def test_errors_join_every_message(requests_mock):
    requests_mock.post(HOLDS, status_code=401, json=errors("authorization required", "second"))
    with pytest.raises(VendorAPIError) as err:
        SendGridHook().cancel_scheduled_send("b1")
    assert err.value.message == "authorization required; second" and requests_mock.call_count == 1


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"X-RateLimit-Reset": "{in_3s}"}, (2.0, 3.0)),  # until the reset: SendGrid sends no Retry-After
        ({"X-RateLimit-Reset": "{in_3s}", "Retry-After": "1"}, (1.0, 1.0)),  # Retry-After wins when sent
        ({"X-RateLimit-Reset": "1767225600"}, (0.0, 0.0)),  # a reset already passed: at once
        ({"X-RateLimit-Reset": "soon"}, (0.0, 1.0)),  # unreadable: exponential backoff
        ({}, (0.0, 1.0)),
    ],
)
def test_a_429_waits_until_the_rate_limit_resets(requests_mock, no_sleep, headers, wait):
    in_3s = str(int(time.time()) + 3)
    headers = {name: value.format(in_3s=in_3s) for name, value in headers.items()}
    requests_mock.post(
        HOLDS,
        [
            {"status_code": 429, "headers": headers, "json": errors("too many requests")},
            {"status_code": 201, "json": {"batch_id": "b1", "status": "cancel"}},
        ],
    )
    SendGridHook().cancel_scheduled_send("b1")
    assert len(no_sleep) == 1 and wait[0] <= no_sleep[0] <= wait[1]


def test_a_5xx_does_not_wait_for_the_rate_limit_reset(requests_mock, no_sleep):
    in_30s = str(int(time.time()) + 30)
    requests_mock.post(
        HOLDS,
        [
            {"status_code": 503, "headers": {"X-RateLimit-Reset": in_30s}, "json": errors("unavailable")},
            {"status_code": 201, "json": {"batch_id": "b1", "status": "cancel"}},
        ],
    )
    SendGridHook().cancel_scheduled_send("b1")
    assert len(no_sleep) == 1 and no_sleep[0] <= 1


def test_unschedule_a_single_send(requests_mock):
    requests_mock.delete(UNSCHEDULE, json={"send_at": None, "status": "draft"})
    result = SendGridHook().unschedule_single_send("ss1")
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == "draft"
    assert result.target == {"single_send_id": "ss1"}


@pytest.mark.parametrize("refusal", [400, 404])
def test_a_refused_unschedule_is_read_back(requests_mock, refusal):
    requests_mock.delete(UNSCHEDULE, status_code=refusal, json=errors("nope"))
    requests_mock.get(
        SINGLE, [{"json": {"status": "draft"}}, {"json": {"status": "triggered"}}, {"json": {"status": "scheduled"}}]
    )
    assert SendGridHook().unschedule_single_send("ss1").outcome is CancelOutcome.ALREADY_CANCELLED
    with pytest.raises(CampaignFinishedError, match="already triggered; SendGrid has no API"):
        SendGridHook().unschedule_single_send("ss1")
    with pytest.raises(VendorAPIError, match="nope \\(Single Send status is 'scheduled'\\)"):
        SendGridHook().unschedule_single_send("ss1")


def test_status_of_a_batch_and_of_a_single_send(requests_mock):
    requests_mock.get(HOLD, json=[{"batch_id": "b1", "status": "cancel"}])
    requests_mock.get(SINGLE, json={"id": "ss1", "status": "scheduled"})
    assert SendGridHook().get_status(batch_id="b1").state is CampaignState.CANCELLED
    assert SendGridHook().get_status(single_send_id="ss1").state is CampaignState.SCHEDULED


def test_a_batch_without_a_hold_is_unknown_unless_the_send_time_is_known(requests_mock):
    requests_mock.get(HOLD, status_code=404, json=errors("resource not found"))
    assert SendGridHook().get_status(batch_id="b1").state is CampaignState.UNKNOWN
    assert SendGridHook().get_status(batch_id="b1", send_at=int(time.time()) - 1).state is CampaignState.COMPLETED


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda h: h.cancel_scheduled_send(" "), "batch_id"),
        (lambda h: h.cancel_scheduled_send("b1", action="delete"), "action"),
        (lambda h: h.cancel_scheduled_send("b1", send_at_s="soon"), "send_at"),
        (lambda h: h.unschedule_single_send(None), "single_send_id"),
        (lambda h: h.get_status(), "batch_id"),
        (lambda h: h.get_status(batch_id="b1", single_send_id="ss1"), "single_send_id"),
    ],
)
def test_bad_arguments_fail_before_any_http(requests_mock, call, field):
    with pytest.raises(InvalidTarget) as err:
        call(SendGridHook())
    assert err.value.fields == [field] and not requests_mock.called


def test_ids_are_quoted_into_one_path_segment(requests_mock):
    requests_mock.delete(f"{BASE}/v3/marketing/singlesends/..%2Fx/schedule", json={"status": "draft"})
    SendGridHook().unschedule_single_send("../x")
    assert requests_mock.called


def test_a_hold_found_after_a_lost_answer_is_our_own_cancel(requests_mock, no_sleep):
    import requests

    requests_mock.post(
        HOLDS, [{"exc": requests.exceptions.ConnectionError("reset")}, {"status_code": 400, "json": errors("exists")}]
    )
    requests_mock.get(HOLD, json=[{"batch_id": "b1", "status": "cancel"}])
    result = SendGridHook().cancel_scheduled_send("b1")
    assert result.outcome is CancelOutcome.CANCELLED and "earlier attempt" in result.detail["inferred"]
    assert [r.method for r in requests_mock.request_history] == ["POST", "POST", "GET"]

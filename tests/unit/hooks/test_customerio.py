"""CustomerIoHook against requests-mock: cancel, the 409 read-back, status, region hosts, errors."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.customerio import CustomerIoHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.unit.support.customerio import BASE, CANCEL, CONFLICT, KEY, TRIGGER, read, set_default_conn, trigger


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_cancel_reads_cancelled_at_from_the_documented_answer(requests_mock):
    requests_mock.post(CANCEL, json=trigger(cancelled_ago=0))
    result = CustomerIoHook().cancel_trigger("3", 12)
    assert result.outcome is CancelOutcome.CANCELLED and result.vendor_status == "cancelled"
    assert result.target == {"broadcast_id": "3", "trigger_id": "12"}
    assert set(result.detail) == {"cancelled_at", "scheduled_at"}
    request = requests_mock.last_request
    assert request.headers["Authorization"] == f"Bearer {KEY}" and request.body is None


def test_a_cancelled_at_well_before_the_call_is_already_cancelled(requests_mock):
    requests_mock.post(CANCEL, json=trigger(cancelled_ago=600))
    assert CustomerIoHook().cancel_trigger("3", "12").outcome is CancelOutcome.ALREADY_CANCELLED


def test_a_rate_limited_trigger_stopped_mid_send_is_cancelled_with_a_note(requests_mock):
    requests_mock.post(CANCEL, json=trigger(cancelled_ago=0, processed_ago=30, scheduled_in=-40))
    result = CustomerIoHook().cancel_trigger("3", "12")
    assert result.outcome is CancelOutcome.CANCELLED and "continue" in result.detail["note"]


def test_409_then_a_processed_trigger_is_campaign_finished(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json=CONFLICT)
    requests_mock.get(TRIGGER, json=read(processed_ago=60))
    with pytest.raises(CampaignFinishedError, match="already been processed"):
        CustomerIoHook().cancel_trigger("3", "12")
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]


def test_409_then_a_cancelled_trigger_is_already_cancelled(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json=CONFLICT)
    requests_mock.get(TRIGGER, json=trigger(cancelled_ago=300))  # the "full" reading of the trigger read
    result = CustomerIoHook().cancel_trigger("3", "12")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED


def test_409_while_resolving_fails_with_the_409_naming_the_state(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json=CONFLICT)
    requests_mock.get(TRIGGER, json=read())
    with pytest.raises(VendorAPIError) as err:
        CustomerIoHook().cancel_trigger("3", "12")
    assert err.value.status_code == 409 and err.value.is_permanent_client_error
    assert "'pending'" in str(err.value) and "resolving its audience" in str(err.value)


@pytest.mark.parametrize("body", [{"trigger": {"id": 12, "cancelled_at": 0}}, {"ok": True}])
def test_a_200_without_cancelled_at_is_not_counted_as_cancelled(requests_mock, body):
    requests_mock.post(CANCEL, json=body)
    with pytest.raises(UnexpectedAnswerError, match="not counted as cancelled"):
        CustomerIoHook().cancel_trigger("3", "12")


def test_a_5xx_is_retried_because_cancelling_one_trigger_is_safe_to_repeat(requests_mock, no_sleep):
    requests_mock.post(CANCEL, [{"status_code": 503, "json": {}}, {"json": trigger(cancelled_ago=0)}])
    assert CustomerIoHook().cancel_trigger("3", "12").outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 2


def test_errors_list_is_read_into_the_message(requests_mock):
    requests_mock.post(
        CANCEL, status_code=404, json={"errors": [{"detail": "not found (reference 01C4)", "status": "404"}]}
    )
    with pytest.raises(VendorAPIError) as err:
        CustomerIoHook().cancel_trigger("3", "12")
    assert err.value.status_code == 404 and err.value.message == "not found (reference 01C4)"


@pytest.mark.parametrize(
    ("args", "field"), [(("b3", "12"), "broadcast_id"), (("3", "../1"), "trigger_id"), ((None, "1"), "broadcast_id")]
)
def test_bad_ids_fail_before_any_http(requests_mock, args, field):
    with pytest.raises(InvalidTarget) as err:
        CustomerIoHook().cancel_trigger(*args)
    assert err.value.fields == [field] and not requests_mock.called


@pytest.mark.parametrize(
    ("region", "url"),
    [(None, "https://api.customer.io"), ("eu", "https://api-eu.customer.io"), ("EU", "https://api-eu.customer.io")],
)
def test_an_empty_base_url_is_the_regions_host(requests_mock, set_conn, region, url):
    extra = {"region": region} if region else {}
    set_conn("cio", "customerio", "", password=KEY, **extra)
    requests_mock.post(f"{url}/v1/campaigns/3/triggers/12/cancel", json=trigger(cancelled_ago=0))
    CustomerIoHook("cio").cancel_trigger("3", "12")
    assert requests_mock.last_request.url.startswith(url)


def test_the_other_regions_host_is_refused_before_any_http(requests_mock, set_conn):
    set_conn("cio", "customerio", "https://api.customer.io", password=KEY, region="eu")
    with pytest.raises(ConnectionConfigError, match="region"):
        CustomerIoHook("cio").cancel_trigger("3", "12")
    set_conn("cio", "customerio", "https://api.customer.io", password=KEY, region="mars")
    with pytest.raises(ConnectionConfigError, match="region"):
        CustomerIoHook("cio").cancel_trigger("3", "12")
    assert not requests_mock.called


@pytest.mark.parametrize(
    ("body", "cancelled_at", "state", "raw"),
    [
        (read(), None, CampaignState.ACTIVE, "pending"),
        (read(), 1796041200, CampaignState.CANCELLED, "cancelled"),
        (read(), "1796041200", CampaignState.CANCELLED, "cancelled"),
        (read(), "None", CampaignState.ACTIVE, "pending"),  # a template's missing value
        (read(processed_ago=5), 1796041200, CampaignState.COMPLETED, "processed"),
        (trigger(cancelled_ago=5)["trigger"], None, CampaignState.CANCELLED, "cancelled"),  # bare, full fields
        (trigger(), None, CampaignState.SCHEDULED, "scheduled"),
        ({"unexpected": True}, None, CampaignState.UNKNOWN, None),
    ],
)
def test_status(requests_mock, body, cancelled_at, state, raw):
    requests_mock.get(TRIGGER, json=body)
    status = CustomerIoHook().get_status(broadcast_id="3", trigger_id="12", cancelled_at=cancelled_at)
    assert (status.state, status.raw_status) == (state, raw)
    assert status.target == {"broadcast_id": "3", "trigger_id": "12"}


def test_status_refuses_a_cancelled_at_that_is_no_timestamp(requests_mock):
    with pytest.raises(InvalidTarget) as err:
        CustomerIoHook().get_status(broadcast_id="3", trigger_id="12", cancelled_at="yesterday")
    assert err.value.fields == ["cancelled_at"] and not requests_mock.called


def test_status_404_is_raised(requests_mock):
    requests_mock.get(TRIGGER, status_code=404, json={"errors": [{"detail": "not found", "status": "404"}]})
    with pytest.raises(VendorAPIError) as err:
        CustomerIoHook().get_status(broadcast_id="3", trigger_id="12")
    assert err.value.status_code == 404


def test_test_connection_is_one_read_only_get(requests_mock):
    requests_mock.get(f"{BASE}/v1/workspaces", json={"workspaces": []})
    ok, message = CustomerIoHook().test_connection()
    assert ok and "Customer.io" in message and KEY not in message
    assert [r.method for r in requests_mock.request_history] == ["GET"]
    requests_mock.get(
        f"{BASE}/v1/workspaces", status_code=401, json={"errors": [{"detail": "unauthorized", "status": "401"}]}
    )
    ok, message = CustomerIoHook().test_connection()
    assert not ok and "rejected the API key" in message

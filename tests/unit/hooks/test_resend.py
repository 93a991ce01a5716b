"""ResendHook against requests-mock: both cancels, the refusal read-back, status, quota and key errors."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.resend import ResendHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.unit.support.resend import (
    BASE,
    BID,
    BROADCAST,
    CANCELLED,
    EID,
    EMAIL,
    KEY,
    broadcast,
    email,
    refusal,
    set_default_conn,
)


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_cancel_broadcast(requests_mock):
    requests_mock.post(f"{BROADCAST}/cancel", json=CANCELLED)
    result = ResendHook().cancel_broadcast(BID)
    assert result.outcome is CancelOutcome.CANCELLED and result.target == {"broadcast_id": BID}
    assert result.detail == CANCELLED
    assert requests_mock.last_request.headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("body", [{"object": "email", "id": EID}, email("canceled")])  # docs, OpenAPI
def test_cancel_email_accepts_both_documented_bodies(requests_mock, body):
    requests_mock.post(f"{EMAIL}/cancel", json=body)
    result = ResendHook().cancel_email(EID)
    assert result.outcome is CancelOutcome.CANCELLED and result.target == {"email_id": EID}


@pytest.mark.parametrize("status", [400, 403, 422])
@pytest.mark.parametrize(
    ("raw", "outcome"),
    [("canceled", CancelOutcome.ALREADY_CANCELLED), ("Draft", CancelOutcome.NOTHING_TO_CANCEL)],
)
def test_a_refused_broadcast_is_read_back(requests_mock, status, raw, outcome):
    requests_mock.post(f"{BROADCAST}/cancel", **refusal(status))
    requests_mock.get(BROADCAST, json=broadcast(raw))
    result = ResendHook().cancel_broadcast(BID)
    assert result.outcome is outcome and result.vendor_status == raw


@pytest.mark.parametrize("raw", ["sent", "failed"])
def test_a_refused_finished_broadcast_is_campaign_finished(requests_mock, raw):
    requests_mock.post(f"{BROADCAST}/cancel", **refusal())
    requests_mock.get(BROADCAST, json=broadcast(raw))
    with pytest.raises(CampaignFinishedError, match=f"already finished with status '{raw}'"):
        ResendHook().cancel_broadcast(BID)


def test_a_refused_email_that_went_out_is_campaign_finished(requests_mock):
    requests_mock.post(f"{EMAIL}/cancel", **refusal(422, "Email cannot be canceled"))
    requests_mock.get(EMAIL, json=email("delivered"))
    with pytest.raises(CampaignFinishedError, match="'delivered'"):
        ResendHook().cancel_email(EID)


def test_a_refusal_while_still_cancellable_fails_naming_the_status(requests_mock):
    requests_mock.post(f"{BROADCAST}/cancel", **refusal())
    requests_mock.get(BROADCAST, json=broadcast("queued"))
    with pytest.raises(VendorAPIError, match="'queued'") as err:
        ResendHook().cancel_broadcast(BID)
    assert err.value.status_code == 403


@pytest.mark.parametrize(
    ("status", "name"), [(401, "restricted_api_key"), (403, "invalid_api_key"), (404, "not_found")]
)
def test_other_errors_are_not_read_back(requests_mock, status, name):
    requests_mock.post(
        f"{BROADCAST}/cancel", status_code=status, json={"statusCode": status, "name": name, "message": "m"}
    )
    with pytest.raises(VendorAPIError) as err:
        ResendHook().cancel_broadcast(BID)
    assert (err.value.status_code, err.value.code) == (status, name) and requests_mock.call_count == 1


def test_a_5xx_is_retried_and_a_quota_is_not(requests_mock, no_sleep):
    requests_mock.post(f"{BROADCAST}/cancel", [{"status_code": 500, "json": {}}, {"json": CANCELLED}])
    assert ResendHook().cancel_broadcast(BID).outcome is CancelOutcome.CANCELLED
    requests_mock.post(
        f"{BROADCAST}/cancel",
        status_code=429,
        json={"statusCode": 429, "name": "daily_quota_exceeded", "message": "quota"},
    )
    with pytest.raises(VendorAPIError) as err:
        ResendHook().cancel_broadcast(BID)
    assert err.value.code == "daily_quota_exceeded" and requests_mock.call_count == 3


@pytest.mark.parametrize(
    ("target", "body", "state"),
    [
        ({"broadcast_id": BID}, broadcast("draft"), CampaignState.DRAFT),
        ({"broadcast_id": BID, "draft_means_cancelled": True}, broadcast("draft"), CampaignState.CANCELLED),
        ({"broadcast_id": BID, "draft_means_cancelled": "true"}, broadcast("Draft"), CampaignState.CANCELLED),
        ({"broadcast_id": BID, "draft_means_cancelled": True}, broadcast("sent"), CampaignState.COMPLETED),
        ({"broadcast_id": BID}, broadcast("CANCELED"), CampaignState.CANCELLED),
        ({"broadcast_id": BID}, {"status": None}, CampaignState.UNKNOWN),
        ({"email_id": EID}, email("scheduled"), CampaignState.SCHEDULED),
        ({"email_id": EID}, email("canceled"), CampaignState.CANCELLED),
        ({"email_id": EID}, email("opened"), CampaignState.COMPLETED),
    ],
)
def test_status(requests_mock, target, body, state):
    requests_mock.get(BROADCAST, json=body)
    requests_mock.get(EMAIL, json=body)
    assert ResendHook().get_status(**target).state is state


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({}, "target"),
        ({"broadcast_id": BID, "email_id": EID}, "target"),
        ({"broadcast_id": "a/b"}, "broadcast_id"),
        ({"email_id": EID, "draft_means_cancelled": "maybe"}, "draft_means_cancelled"),
    ],
)
def test_bad_status_targets_fail_before_any_http(requests_mock, target, field):
    with pytest.raises(InvalidTarget) as err:
        ResendHook().get_status(**target)
    assert err.value.fields == [field] and not requests_mock.called


def test_test_connection_reads_broadcasts_and_explains_a_sending_only_key(requests_mock):
    requests_mock.get(f"{BASE}/broadcasts", json={"object": "list", "data": []})
    assert ResendHook().test_connection()[0]
    requests_mock.get(
        f"{BASE}/broadcasts",
        status_code=401,
        json={
            "statusCode": 401,
            "name": "restricted_api_key",
            "message": "This API key is restricted to only send emails",
        },
    )
    ok, message = ResendHook().test_connection()
    assert not ok and "restricted to only send emails" in message and KEY not in message

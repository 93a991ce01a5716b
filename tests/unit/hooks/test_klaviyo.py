"""KlaviyoHook against requests-mock: auth and revision headers, the JSON:API PATCH, refusals read back, status."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.klaviyo import KlaviyoHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.conftest import API_KEY
from tests.unit.support.klaviyo import BASE, CAMPAIGN, JOB, campaign, error, job, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_cancel_sends_the_json_api_patch_with_klaviyos_headers(requests_mock):
    requests_mock.patch(JOB, status_code=204)
    result = KlaviyoHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.CANCELLED and result.target == {"campaign_id": "c1", "action": "cancel"}
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == f"Klaviyo-API-Key {API_KEY}"
    assert sent.headers["revision"] == "2026-07-15"
    assert sent.headers["Content-Type"] == sent.headers["Accept"] == "application/vnd.api+json"
    assert json.loads(sent.body) == {
        "data": {"type": "campaign-send-job", "id": "c1", "attributes": {"action": "cancel"}}
    }


def test_revert_and_the_connections_revision(requests_mock, set_conn):
    set_default_conn(set_conn, revision="2025-10-15")
    requests_mock.patch(JOB, status_code=204)
    assert KlaviyoHook().cancel_campaign("c1", action="revert").target["action"] == "revert"
    assert json.loads(requests_mock.last_request.body)["data"]["attributes"]["action"] == "revert"
    assert requests_mock.last_request.headers["revision"] == "2025-10-15"


def test_a_bad_revision_extra_fails_before_any_http(requests_mock, set_conn):
    set_default_conn(set_conn, revision="latest")
    with pytest.raises(ConnectionConfigError, match="revision"):
        KlaviyoHook().cancel_campaign("c1")
    assert not requests_mock.called


@pytest.mark.parametrize("refusal", [400, 409, 422])
@pytest.mark.parametrize("word", ["Cancelled", "cancelled: no recipients", "CANCELED"])
def test_a_refusal_on_a_cancelled_campaign_is_already_cancelled(requests_mock, refusal, word):
    requests_mock.patch(JOB, status_code=refusal, json=error(refusal))
    requests_mock.get(JOB, json=job("cancelled"))
    requests_mock.get(CAMPAIGN, json=campaign(word))
    result = KlaviyoHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.vendor_status == word
    assert [r.method for r in requests_mock.request_history] == ["PATCH", "GET", "GET"]


@pytest.mark.parametrize("word", ["Sent", "variations sent"])
def test_a_refusal_on_a_sent_campaign_fails_clearly(requests_mock, word):
    requests_mock.patch(JOB, status_code=400, json=error(400))
    requests_mock.get(JOB, json=job("complete"))
    requests_mock.get(CAMPAIGN, json=campaign(word))
    with pytest.raises(CampaignFinishedError, match=f"already been sent \\(status '{word}'\\)"):
        KlaviyoHook().cancel_campaign("c1")


def test_a_refused_revert_of_a_draft_is_done_and_of_a_sending_campaign_says_what_to_do(requests_mock):
    requests_mock.patch(JOB, status_code=400, json=error(400))
    requests_mock.get(JOB, json=job("cancelled"))
    requests_mock.get(CAMPAIGN, [{"json": campaign("Draft")}, {"json": campaign("Sending")}])
    assert KlaviyoHook().cancel_campaign("c1", action="revert").outcome is CancelOutcome.ALREADY_CANCELLED
    with pytest.raises(VendorAPIError, match="'Sending'.*use action 'cancel'") as err:
        KlaviyoHook().cancel_campaign("c1", action="revert")
    assert err.value.status_code == 400 and err.value.code == "invalid"


def test_a_refused_cancel_of_a_draft_names_the_status(requests_mock):
    requests_mock.patch(JOB, status_code=400, json=error(400, detail="nope"))
    requests_mock.get(JOB, status_code=404, json=error(404, "not_found", "no job"))
    requests_mock.get(CAMPAIGN, json=campaign("Draft"))
    with pytest.raises(VendorAPIError, match="nope \\(campaign status is 'Draft'\\)"):
        KlaviyoHook().cancel_campaign("c1")


@pytest.mark.parametrize("status", [401, 403, 404])
def test_other_errors_propagate_with_the_json_api_code_and_detail(requests_mock, status):
    requests_mock.patch(
        JOB, status_code=status, json=error(status, "not_found", "A campaign send job with id c1 does not exist.")
    )
    with pytest.raises(VendorAPIError) as err:
        KlaviyoHook().cancel_campaign("c1")
    assert (err.value.status_code, err.value.code) == (status, "not_found")
    assert err.value.message == "A campaign send job with id c1 does not exist."
    assert requests_mock.call_count == 1


def test_a_5xx_on_the_patch_is_retried_as_the_same_request(requests_mock, no_sleep):
    requests_mock.patch(JOB, [{"status_code": 503, "json": error(503, "error", "down")}, {"status_code": 204}])
    assert KlaviyoHook().cancel_campaign("c1").outcome is CancelOutcome.CANCELLED
    bodies = {r.body for r in requests_mock.request_history}
    assert requests_mock.call_count == 2 and len(bodies) == 1


def test_429_honours_retry_after(requests_mock, no_sleep):
    requests_mock.patch(
        JOB,
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}, "json": error(429, "throttled", "slow")},
            {"status_code": 204},
        ],
    )
    KlaviyoHook().cancel_campaign("c1")
    assert no_sleep == [3.0]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda h: h.cancel_campaign("  "), "campaign_id"),
        (lambda h: h.cancel_campaign("c1", action="pause"), "action"),
        (lambda h: h.get_status(None), "campaign_id"),
    ],
)
def test_bad_arguments_fail_before_any_http(requests_mock, call, field):
    with pytest.raises(InvalidTarget) as err:
        call(KlaviyoHook())
    assert err.value.fields == [field] and not requests_mock.called


def test_ids_are_quoted_into_one_path_segment(requests_mock):
    requests_mock.patch(f"{BASE}/campaign-send-jobs/..%2Fx", status_code=204)
    KlaviyoHook().cancel_campaign("../x")
    assert requests_mock.called


def test_status_reads_the_send_job_then_the_campaign(requests_mock):
    requests_mock.get(JOB, json=job("processing"))
    requests_mock.get(CAMPAIGN, json=campaign("Cancelled"))
    status = KlaviyoHook().get_status("c1")
    assert status.state is CampaignState.ACTIVE and status.raw_status == "Cancelled"
    assert status.extra == {"send_job_status": "processing"}
    assert [r.url for r in requests_mock.request_history] == [JOB, CAMPAIGN]


def test_status_without_a_send_job_reads_the_campaign(requests_mock):
    requests_mock.get(JOB, status_code=404, json=error(404, "not_found", "no job"))
    requests_mock.get(CAMPAIGN, json=campaign("Draft"))
    assert KlaviyoHook().get_status("c1").state is CampaignState.DRAFT


def test_status_404_on_the_campaign_is_an_error(requests_mock):
    requests_mock.get(JOB, status_code=404, json=error(404, "not_found", "no job"))
    requests_mock.get(CAMPAIGN, status_code=404, json=error(404, "not_found", "no campaign"))
    with pytest.raises(VendorAPIError) as err:
        KlaviyoHook().get_status("c1")
    assert err.value.status_code == 404


def test_status_unexpected_shape_is_unknown(requests_mock):
    requests_mock.get(JOB, json={"weird": True})
    requests_mock.get(CAMPAIGN, json={"status": "Sent"})  # not JSON:API: not trusted
    assert KlaviyoHook().get_status("c1").state is CampaignState.UNKNOWN


def test_test_connection_reads_accounts_and_explains_a_bad_key(requests_mock):
    requests_mock.get(f"{BASE}/accounts", json={"data": []})
    ok, message = KlaviyoHook().test_connection()
    assert ok and "Klaviyo" in message
    requests_mock.get(f"{BASE}/accounts", status_code=401, json=error(401, "not_authenticated", "bad key"))
    ok, message = KlaviyoHook().test_connection()
    assert not ok and "rejected the API key" in message and API_KEY not in message
    assert all(r.method == "GET" for r in requests_mock.request_history)


def test_a_refusal_after_a_lost_answer_is_our_own_cancel(requests_mock, no_sleep):
    import requests

    requests_mock.patch(
        JOB, [{"exc": requests.exceptions.ConnectionError("reset")}, {"status_code": 400, "json": error(400)}]
    )
    requests_mock.get(JOB, json=job("cancelled"))
    requests_mock.get(CAMPAIGN, json=campaign("Cancelled"))
    result = KlaviyoHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.CANCELLED and "earlier attempt" in result.detail["inferred"]

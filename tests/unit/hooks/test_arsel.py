"""ArselHook against requests-mock: cancel, the 400 follow-up GET, status reads, paths and connections."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.unit.support.arsel import BASE, CANCEL, GET, set_default_conn

NOT_CANCELLABLE = {
    "status_code": 400,
    "name": "bad_request",
    "message": "Campaign cannot be cancelled in its current status",
}


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


@pytest.mark.parametrize("body", [{"message": "Campaign cancelled"}, {"id": "c1"}])
def test_cancel_accepts_both_documented_200_bodies(requests_mock, body):
    requests_mock.post(CANCEL, json=body)
    result = ArselHook().cancel_campaign("c1", idempotency_key="k1")
    assert result.outcome is CancelOutcome.CANCELLED
    assert result.target == {"campaign_id": "c1", "channel": "email"}
    assert requests_mock.last_request.headers["Idempotency-Key"] == "k1"


@pytest.mark.parametrize("raw", ["cancelled", "Cancelled", "CANCELLED"])
def test_400_then_get_cancelled_is_already_cancelled(requests_mock, raw):
    requests_mock.post(CANCEL, status_code=400, json=NOT_CANCELLABLE)
    requests_mock.get(GET, json={"id": "c1", "status": raw})
    result = ArselHook().cancel_campaign("c1")
    assert result.outcome is CancelOutcome.ALREADY_CANCELLED and result.vendor_status == raw


@pytest.mark.parametrize("raw", ["sent", "Sent", "failed"])
def test_400_then_get_finished_fails_clearly(requests_mock, raw):
    requests_mock.post(CANCEL, status_code=400, json=NOT_CANCELLABLE)
    requests_mock.get(GET, json={"id": "c1", "status": raw})
    with pytest.raises(CampaignFinishedError, match="already finished"):
        ArselHook().cancel_campaign("c1")


def test_400_on_a_draft_is_an_error_naming_the_status(requests_mock):
    requests_mock.post(CANCEL, status_code=400, json=NOT_CANCELLABLE)
    requests_mock.get(GET, json={"id": "c1", "status": "Draft"})
    with pytest.raises(VendorAPIError, match="'Draft'"):
        ArselHook().cancel_campaign("c1")


@pytest.mark.parametrize("status", [401, 404, 409])
def test_other_errors_propagate_with_their_fields(requests_mock, status):
    requests_mock.post(CANCEL, status_code=status, json={"status_code": status, "name": "n", "message": "m"})
    with pytest.raises(VendorAPIError) as err:
        ArselHook().cancel_campaign("c1")
    assert err.value.status_code == status and requests_mock.call_count == 1


def test_sms_channel_and_default_channel_from_connection(requests_mock, set_conn):
    set_conn("arsel_sms", "arsel", BASE, default_channel="sms")
    requests_mock.post(f"{BASE}/sms/campaigns/c9/cancel", json={"id": "c9"})
    assert ArselHook("arsel_sms").cancel_campaign("c9").target["channel"] == "sms"


def test_campaign_id_is_quoted_into_one_path_segment(requests_mock):
    requests_mock.post(f"{BASE}/email/campaigns/..%2Fx/cancel", json={"id": "x"})
    ArselHook().cancel_campaign("../x")
    assert requests_mock.called


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("draft", CampaignState.DRAFT),
        ("Scheduled", CampaignState.SCHEDULED),
        ("queued", CampaignState.ACTIVE),
        ("SENDING", CampaignState.ACTIVE),
        ("paused", CampaignState.ACTIVE),
        ("Sent", CampaignState.COMPLETED),
        ("failed", CampaignState.FAILED),
        ("cancelled", CampaignState.CANCELLED),
        ("archived", CampaignState.COMPLETED),
        ("teleported", CampaignState.UNKNOWN),
        (None, CampaignState.UNKNOWN),
    ],
)
def test_status_mapping(requests_mock, raw, state):
    requests_mock.get(GET, json={"id": "c1", "status": raw})
    status = ArselHook().get_status(campaign_id="c1", channel="email")
    assert status.state is state and status.raw_status == raw


# ------------------------------------------------------------------ new in the one-vendor-model refactor
@pytest.mark.parametrize("make", [lambda: ArselHook("arsel_sms"), lambda: ArselHook(arsel_conn_id="arsel_sms")])
def test_hook_takes_the_connection_id_positionally_or_by_its_vendor_name(requests_mock, set_conn, make):
    set_conn("arsel_sms", "arsel", "https://sms.arsel.test/v1", default_channel="sms")
    requests_mock.post("https://sms.arsel.test/v1/sms/campaigns/c9/cancel", json={"id": "c9"})
    hook = make()
    assert hook.conn_id == "arsel_sms"
    assert hook.cancel_campaign("c9").target == {"campaign_id": "c9", "channel": "sms"}
    assert requests_mock.call_count == 1


def test_hook_class_attributes_come_from_the_registry():
    assert (ArselHook.vendor, ArselHook.conn_type, ArselHook.conn_name_attr, ArselHook.default_conn_name) == (
        "arsel",
        "arsel",
        "arsel_conn_id",
        "arsel_default",
    )
    assert ArselHook().conn_id == "arsel_default"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda h: h.cancel_campaign("c1", channel="fax"), "channel"),
        (lambda h: h.cancel_campaign("   "), "campaign_id"),
        (lambda h: h.cancel_campaign("c1", idempotency_key="k" * 257), "idempotency_key"),
        (lambda h: h.cancel_campaign("c1", idempotency_key=""), "idempotency_key"),
        (lambda h: h.get_status(campaign_id=None), "campaign_id"),
    ],
)
def test_bad_arguments_raise_invalid_target_before_any_http(requests_mock, call, field):
    with pytest.raises(InvalidTarget) as err:
        call(ArselHook())
    assert err.value.fields == [field]
    assert not requests_mock.called


def test_idempotency_key_of_exactly_256_characters_is_sent(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    ArselHook().cancel_campaign("c1", idempotency_key="k" * 256)
    assert requests_mock.last_request.headers["Idempotency-Key"] == "k" * 256


def test_400_with_another_error_name_is_not_judged_by_a_get(requests_mock):
    requests_mock.post(CANCEL, status_code=400, json={"name": "validation_error", "message": "bad id"})
    with pytest.raises(VendorAPIError) as err:
        ArselHook().cancel_campaign("c1")
    assert (err.value.status_code, err.value.code) == (400, "validation_error")
    assert [r.method for r in requests_mock.request_history] == ["POST"]


def test_status_404_is_raised_not_read_as_a_status(requests_mock):
    requests_mock.get(GET, status_code=404, json={"name": "not_found", "message": "Campaign not found"})
    with pytest.raises(VendorAPIError) as err:
        ArselHook().get_status(campaign_id="c1")
    assert err.value.status_code == 404 and err.value.is_permanent_client_error

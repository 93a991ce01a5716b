"""OneSignalHook against requests-mock: DELETE with app_id, the 400 read-back, status, auth scheme, app id."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.onesignal import OneSignalHook
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from tests.unit.support.onesignal import APP, BASE, KEY, NID, SENT, URL, notification, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_cancel_is_a_delete_with_the_app_id_and_the_key_scheme(requests_mock):
    requests_mock.delete(URL, json={"success": True})
    result = OneSignalHook().cancel_notification(NID)
    assert result.outcome is CancelOutcome.CANCELLED and result.target == {"notification_id": NID}
    request = requests_mock.last_request
    assert request.qs == {"app_id": [APP]} and request.headers["Authorization"] == f"Key {KEY}"


def test_legacy_keys_use_basic(requests_mock, set_conn):
    set_conn("os_legacy", "onesignal", BASE, password=KEY, app_id=APP, scheme="basic")
    requests_mock.delete(URL, json={"success": True})
    OneSignalHook("os_legacy").cancel_notification(NID)
    assert requests_mock.last_request.headers["Authorization"] == f"Basic {KEY}"


def test_already_sent_is_campaign_finished_after_a_read(requests_mock):
    requests_mock.delete(URL, **SENT)
    requests_mock.get(URL, json=notification(completed_ago=30, remaining=0))
    with pytest.raises(CampaignFinishedError, match="already been sent to all recipients"):
        OneSignalHook().cancel_notification(NID)
    assert [r.method for r in requests_mock.request_history] == ["DELETE", "GET"]


def test_a_400_on_a_canceled_notification_is_already_cancelled(requests_mock):
    requests_mock.delete(URL, status_code=400, json={"errors": ["Notification has already been canceled"]})
    requests_mock.get(URL, json=notification(canceled=True))
    assert OneSignalHook().cancel_notification(NID).outcome is CancelOutcome.ALREADY_CANCELLED


def test_a_400_on_an_unknown_notification_keeps_the_cancels_message(requests_mock):
    requests_mock.delete(URL, status_code=400, json={"errors": ["Could not find notification"]})
    requests_mock.get(URL, status_code=400, json={"errors": ["Could not find notification"]})
    with pytest.raises(VendorAPIError) as err:
        OneSignalHook().cancel_notification(NID)
    assert err.value.method == "DELETE" and err.value.message == "Could not find notification"


def test_a_400_while_still_sending_fails_naming_the_state(requests_mock):
    requests_mock.delete(URL, status_code=400, json={"errors": ["something else"]})
    requests_mock.get(URL, json=notification())
    with pytest.raises(VendorAPIError, match="'sending'"):
        OneSignalHook().cancel_notification(NID)


def test_success_false_is_not_counted(requests_mock):
    requests_mock.delete(URL, json={"success": False})
    with pytest.raises(UnexpectedAnswerError):
        OneSignalHook().cancel_notification(NID)


def test_delete_is_retried_after_a_5xx_and_429_honours_retry_after(requests_mock, no_sleep):
    requests_mock.delete(
        URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}, "json": {"errors": ["API rate limit exceeded."]}},
            {"status_code": 502, "json": {}},
            {"json": {"success": True}},
        ],
    )
    assert OneSignalHook().cancel_notification(NID).outcome is CancelOutcome.CANCELLED
    assert requests_mock.call_count == 3 and no_sleep[0] == 3


@pytest.mark.parametrize("app_id", [None, "", "not-a-uuid", 5])
def test_a_missing_or_bad_app_id_is_refused_before_any_http(requests_mock, set_conn, app_id):
    extra = {} if app_id is None else {"app_id": app_id}
    set_conn("os_bad", "onesignal", BASE, password=KEY, **extra)
    with pytest.raises(ConnectionConfigError, match="extra 'app_id'"):
        OneSignalHook("os_bad").cancel_notification(NID)
    assert not requests_mock.called


def test_bad_ids_are_refused_before_any_http(requests_mock):
    with pytest.raises(InvalidTarget):
        OneSignalHook().cancel_notification("../x")
    with pytest.raises(InvalidTarget):
        OneSignalHook().get_status(notification_id=" ")
    assert not requests_mock.called


@pytest.mark.parametrize(
    ("body", "state", "raw"),
    [
        (notification(canceled=True), CampaignState.CANCELLED, "canceled"),
        (notification(completed_ago=5, remaining=0), CampaignState.COMPLETED, "completed"),
        # A day ahead: parameters are built when the suite is collected, maybe many minutes before this runs.
        (notification(send_in=86400), CampaignState.SCHEDULED, "scheduled"),
        (notification(), CampaignState.ACTIVE, "sending"),
        ({"id": NID}, CampaignState.UNKNOWN, None),
    ],
)
def test_status(requests_mock, body, state, raw):
    requests_mock.get(URL, json=body)
    status = OneSignalHook().get_status(notification_id=NID)
    assert (status.state, status.raw_status) == (state, raw)
    assert requests_mock.last_request.qs == {"app_id": [APP]}


async def test_the_async_status_read_resolves_the_app_id_without_a_sync_lookup(monkeypatch):
    hook = OneSignalHook()

    async def settings():
        from airflow_provider_cancel.hooks.base import ConnectionSettings

        hook._async_settings = ConnectionSettings(BASE, KEY, 1.0, 1.0, {"app_id": APP})
        return hook._async_settings

    async def arequest(method, path, **kwargs):
        assert kwargs["params"] == {"app_id": APP}
        return notification(canceled=True)

    monkeypatch.setattr(hook, "aget_settings", settings)
    monkeypatch.setattr(hook, "arequest", arequest)
    monkeypatch.setattr(type(hook), "settings", property(lambda self: pytest.fail("sync lookup")))
    assert (await hook.aget_status(notification_id=NID)).is_cancelled


def test_test_connection_lists_one_notification_of_the_app(requests_mock):
    requests_mock.get(f"{BASE}/notifications", json={"notifications": []})
    ok, message = OneSignalHook().test_connection()
    assert ok and requests_mock.last_request.qs == {"app_id": [APP], "limit": ["1"]} and KEY not in message

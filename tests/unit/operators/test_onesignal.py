"""OneSignalCancelNotificationOperator: validation, the failure policy, retries and waiting."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, ConnectionConfigError, InvalidTarget
from airflow_provider_cancel.operators.onesignal import OneSignalCancelNotificationOperator as Op
from tests.unit.conftest import make_context
from tests.unit.support.onesignal import BASE, KEY, NID, SENT, URL, context, notification, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_cancel_then_wait_until_canceled(requests_mock):
    requests_mock.delete(URL, json={"success": True})
    requests_mock.get(URL, json=notification(canceled=True))
    out = Op(task_id="t", notification_id=NID, wait_for_completion=True, deferrable=True).execute(context())
    assert out["outcome"] == "cancelled" and out["final_status"]["raw_status"] == "canceled"


def test_the_deferred_wait_carries_no_secret_and_no_app_id(requests_mock):
    requests_mock.delete(URL, json={"success": True})
    requests_mock.get(URL, json=notification())
    with pytest.raises(TaskDeferred) as exc:
        Op(task_id="t", notification_id=NID, wait_for_completion=True, deferrable=True).execute(context())
    assert exc.value.trigger.target == {"notification_id": NID}
    assert KEY not in repr(exc.value.trigger.serialize())


def test_an_already_sent_notification_fails_without_retries(requests_mock):
    requests_mock.delete(URL, **SENT)
    requests_mock.get(URL, json=notification(completed_ago=5, remaining=0))
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError") as err:
        Op(task_id="t", notification_id=NID, retries=3).execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


def test_bad_input_and_a_bad_app_id_fail_before_any_http(requests_mock, set_conn):
    with pytest.raises(AirflowFailException) as err:
        Op(task_id="t", notification_id="a/b").execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    set_conn("os_bad", "onesignal", BASE, password=KEY, app_id="my-app")
    with pytest.raises(AirflowFailException, match="app_id") as err:
        Op(task_id="t", notification_id=NID, onesignal_conn_id="os_bad").execute(context())
    assert isinstance(err.value.error, ConnectionConfigError)
    assert not requests_mock.called


def test_a_retried_task_repeats_the_same_delete(requests_mock):
    requests_mock.delete(URL, json={"success": True})
    for try_number in (1, 2):
        Op(task_id="t", notification_id=NID).execute(context(try_number=try_number))
    assert [(r.method, r.url.split("?")[0]) for r in requests_mock.request_history] == [("DELETE", URL)] * 2


def test_dry_run_only_reads(requests_mock):
    requests_mock.get(URL, json=notification(send_in=600))
    out = Op(task_id="t", notification_id=NID, dry_run=True).execute(make_context(xcom=True))
    assert out["outcome"] == "would_cancel" and out["vendor_status"] == "scheduled"
    assert [r.method for r in requests_mock.request_history] == ["GET"]

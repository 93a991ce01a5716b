"""Resend's two cancel operators: validation, the failure policy, retries and the wait through draft."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget
from airflow_provider_cancel.operators.resend import ResendCancelBroadcastOperator, ResendCancelEmailOperator
from tests.unit.support.resend import (
    BID,
    BROADCAST,
    CANCELLED,
    EID,
    EMAIL,
    KEY,
    broadcast,
    context,
    email,
    refusal,
    set_default_conn,
)


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_a_scheduled_broadcast_back_in_draft_is_a_confirmed_cancel(requests_mock):
    requests_mock.post(f"{BROADCAST}/cancel", json=CANCELLED)
    requests_mock.get(BROADCAST, json=broadcast("draft"))
    op = ResendCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True)
    out = op.execute(context())
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"
    assert out["final_status"]["raw_status"] == "draft"


def test_a_sending_broadcast_defers_until_canceled_without_the_key_in_the_trigger(requests_mock):
    requests_mock.post(f"{BROADCAST}/cancel", json=CANCELLED)
    requests_mock.get(BROADCAST, json=broadcast("queued"))
    op = ResendCancelBroadcastOperator(task_id="t", broadcast_id=BID, wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    assert exc.value.trigger.target == {"broadcast_id": BID, "draft_means_cancelled": True}
    assert KEY not in repr(exc.value.trigger.serialize())


def test_a_sent_broadcast_fails_without_retries(requests_mock):
    requests_mock.post(f"{BROADCAST}/cancel", **refusal())
    requests_mock.get(BROADCAST, json=broadcast("sent"))
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError") as err:
        ResendCancelBroadcastOperator(task_id="t", broadcast_id=BID, retries=3).execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


def test_the_email_operator_cancels_and_waits_for_canceled(requests_mock):
    requests_mock.post(f"{EMAIL}/cancel", json={"object": "email", "id": EID})
    requests_mock.get(EMAIL, json=email("canceled"))
    out = ResendCancelEmailOperator(task_id="t", email_id=EID, wait_for_completion=True).execute(context())
    assert out["target"] == {"email_id": EID} and out["final_status"]["raw_status"] == "canceled"


def test_an_already_canceled_email_is_a_success(requests_mock):
    requests_mock.post(f"{EMAIL}/cancel", **refusal(422))
    requests_mock.get(EMAIL, json=email("canceled"))
    assert ResendCancelEmailOperator(task_id="t", email_id=EID).execute(context())["outcome"] == "already_cancelled"


@pytest.mark.parametrize(
    ("operator", "args", "field"),
    [
        (ResendCancelBroadcastOperator, {"broadcast_id": " "}, "broadcast_id"),
        (ResendCancelEmailOperator, {"email_id": "../x"}, "email_id"),
        (ResendCancelEmailOperator, {"email_id": EID, "resend_conn_id": 5}, "resend_conn_id"),
    ],
)
def test_bad_arguments_fail_before_any_http(requests_mock, operator, args, field):
    with pytest.raises(AirflowFailException, match=field) as err:
        operator(task_id="t", **args).execute(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called


def test_a_retried_task_repeats_the_same_cancel(requests_mock):
    requests_mock.post(f"{BROADCAST}/cancel", json=CANCELLED)
    for try_number in (1, 2):
        ResendCancelBroadcastOperator(task_id="t", broadcast_id=BID).execute(context(try_number=try_number))
    assert [r.url for r in requests_mock.request_history] == [f"{BROADCAST}/cancel"] * 2

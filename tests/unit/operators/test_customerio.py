"""CustomerIoCancelBroadcastTriggerOperator: validation, failure policy, retries, waiting on the cancel's answer."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.operators.customerio import CustomerIoCancelBroadcastTriggerOperator as Op
from tests.unit.conftest import make_context
from tests.unit.support.customerio import CANCEL, CONFLICT, KEY, TRIGGER, context, read, set_default_conn, trigger


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_cancel_then_wait_is_confirmed_by_the_cancels_cancelled_at(requests_mock):
    requests_mock.post(CANCEL, json=trigger(cancelled_ago=0))
    requests_mock.get(TRIGGER, json=read())  # the documented read: no cancelled_at
    out = Op(task_id="t", broadcast_id="3", trigger_id="12", wait_for_completion=True, deferrable=True).execute(
        context()
    )
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"
    assert out["target"] == {"broadcast_id": "3", "trigger_id": "12"}


def test_the_deferred_wait_carries_cancelled_at_and_no_secret(requests_mock):
    requests_mock.post(CANCEL, json=trigger(cancelled_ago=0))
    requests_mock.get(TRIGGER, json=read(processed_ago=None) | {"trigger": {"id": 12}})  # unreadable: keep waiting
    op = Op(task_id="t", broadcast_id="3", trigger_id="12", wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    _, kwargs = exc.value.trigger.serialize()
    assert set(exc.value.trigger.target) == {"broadcast_id", "trigger_id", "cancelled_at"}
    assert KEY not in repr(kwargs)


def test_a_sent_trigger_fails_the_task_without_retries(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json=CONFLICT)
    requests_mock.get(TRIGGER, json=read(processed_ago=60))
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError") as err:
        Op(task_id="t", broadcast_id="3", trigger_id="12", retries=3).execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


def test_a_retried_task_sends_the_same_cancel_and_reads_already_cancelled(requests_mock):
    requests_mock.post(CANCEL, [{"json": trigger(cancelled_ago=0)}, {"json": trigger(cancelled_ago=120)}])
    first = Op(task_id="t", broadcast_id="3", trigger_id="12").execute(context(try_number=1))
    second = Op(task_id="t", broadcast_id="3", trigger_id="12").execute(context(try_number=2))
    assert (first["outcome"], second["outcome"]) == ("cancelled", "already_cancelled")
    assert {r.url for r in requests_mock.request_history} == {CANCEL}


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({"broadcast_id": "", "trigger_id": "x"}, {"broadcast_id", "trigger_id"}),
        ({"broadcast_id": "3", "trigger_id": "1/2"}, {"trigger_id"}),
    ],
)
def test_bad_templated_ids_fail_before_any_http(requests_mock, args, fields):
    with pytest.raises(AirflowFailException) as err:
        Op(task_id="t", **args).execute(context())
    assert isinstance(err.value.error, InvalidTarget) and set(err.value.error.fields) == fields
    assert not requests_mock.called


def test_server_errors_stay_retryable_and_4xx_fail_now(requests_mock, no_sleep):
    requests_mock.post(CANCEL, status_code=502, json={})
    with pytest.raises(VendorAPIError) as err:
        Op(task_id="t", broadcast_id="3", trigger_id="12", retry_limit=2).execute(context())
    assert not isinstance(err.value, AirflowFailException) and requests_mock.call_count == 2
    requests_mock.post(CANCEL, status_code=401, json={"errors": [{"detail": "unauthorized", "status": "401"}]})
    with pytest.raises(AirflowFailException, match="401"):
        Op(task_id="t", broadcast_id="3", trigger_id="12").execute(context())


def test_conn_id_is_templated_and_dry_run_only_reads(requests_mock, set_conn):
    set_conn("cio_eu", "customerio", "", password=KEY, region="eu")
    get = requests_mock.get("https://api-eu.customer.io/v1/campaigns/3/triggers/12", json=read())
    op = Op(task_id="t", broadcast_id="3", trigger_id="12", customerio_conn_id="{{ params.c }}", dry_run=True)
    op.render_template_fields(context={"params": {"c": "cio_eu"}})
    out = op.execute(make_context(xcom=True))
    assert out["outcome"] == "would_cancel" and get.called
    assert [r.method for r in requests_mock.request_history] == ["GET"]

"""The two SendGrid operators: validation before HTTP, what no API can stop, retries, waiting."""

from __future__ import annotations

import json
import time

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget
from airflow_provider_cancel.operators.sendgrid import (
    SendGridCancelScheduledSendOperator,
    SendGridUnscheduleSingleSendOperator,
)
from tests.unit.support.sendgrid import HOLD, HOLDS, SINGLE, UNSCHEDULE, context, errors, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_the_docstrings_say_what_no_api_can_do():
    for op in (SendGridCancelScheduledSendOperator, SendGridUnscheduleSingleSendOperator):
        assert "No SendGrid API stops a send that is already under way" in (op.__doc__ or "")
    assert "batch id given at send time" in (SendGridCancelScheduledSendOperator.__doc__ or "")


def test_template_fields():
    assert set(SendGridCancelScheduledSendOperator.template_fields) == {
        "batch_id",
        "action",
        "send_at",
        "sendgrid_conn_id",
        "dry_run_flag",
    }
    assert set(SendGridUnscheduleSingleSendOperator.template_fields) == {
        "single_send_id",
        "sendgrid_conn_id",
        "dry_run_flag",
    }


def test_every_bad_argument_fails_before_any_http(requests_mock):
    op = SendGridCancelScheduledSendOperator(task_id="t", batch_id="", action="stop", send_at="later")
    with pytest.raises(AirflowFailException, match="^InvalidTarget: 3 problems") as err:
        op.execute(context())
    assert set(err.value.error.fields) == {"batch_id", "action", "send_at"} and not requests_mock.called


def test_a_passed_send_time_fails_without_retries_and_sends_nothing(requests_mock):
    op = SendGridCancelScheduledSendOperator(task_id="t", batch_id="b1", send_at=int(time.time()) - 10, retries=3)
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError: .*it was sent") as err:
        op.execute(context())
    assert isinstance(err.value.error, CampaignFinishedError) and not requests_mock.called


def test_cancel_then_wait_returns_when_the_hold_is_read(requests_mock):
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": "cancel"})
    requests_mock.get(HOLD, json=[{"batch_id": "b1", "status": "cancel"}])
    op = SendGridCancelScheduledSendOperator(task_id="t", batch_id="b1", wait_for_completion=True, deferrable=True)
    out = op.execute(context())
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"
    assert out["target"] == {"batch_id": "b1", "action": "cancel", "send_at": None}


def test_wait_defers_when_the_hold_is_not_visible_yet(requests_mock):
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": "cancel"})
    requests_mock.get(HOLD, json=[])
    op = SendGridCancelScheduledSendOperator(
        task_id="t", batch_id="b1", send_at=int(time.time()) + 3600, wait_for_completion=True, deferrable=True
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    assert exc.value.trigger.target["batch_id"] == "b1" and exc.value.trigger.target["send_at"] > time.time()


def test_a_pause_has_nothing_to_wait_for(requests_mock):
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": "pause"})
    op = SendGridCancelScheduledSendOperator(task_id="t", batch_id="b1", action="pause", wait_for_completion=True)
    out = op.execute(context())
    assert out["vendor_status"] == "pause" and "final_status" not in out


def test_a_retried_task_sends_the_same_request(requests_mock):
    requests_mock.post(HOLDS, status_code=201, json={"batch_id": "b1", "status": "cancel"})
    for try_number in (1, 2):
        SendGridCancelScheduledSendOperator(task_id="t", batch_id="b1").execute(context(try_number=try_number))
    first, second = (json.loads(r.body) for r in requests_mock.request_history)
    assert first == second == {"batch_id": "b1", "status": "cancel"}


def test_unschedule_single_send_and_a_triggered_one(requests_mock):
    requests_mock.delete(UNSCHEDULE, json={"send_at": None, "status": "draft"})
    out = SendGridUnscheduleSingleSendOperator(task_id="t", single_send_id="ss1", wait_for_completion=True).execute(
        context()
    )
    assert out["outcome"] == "cancelled" and out["vendor_status"] == "draft" and "final_status" not in out
    requests_mock.delete(UNSCHEDULE, status_code=400, json=errors("cannot be unscheduled"))
    requests_mock.get(SINGLE, json={"status": "triggered"})
    ctx = context(xcom=True)
    with pytest.raises(AirflowFailException, match="already triggered"):
        SendGridUnscheduleSingleSendOperator(task_id="t", single_send_id="ss1").execute(ctx)
    assert ctx["ti"].xcoms["cancel_error"].startswith("CampaignFinishedError")


def test_dry_runs_read_and_send_nothing(requests_mock):
    requests_mock.get(HOLD, json=[])
    requests_mock.get(SINGLE, json={"status": "scheduled"})
    out = SendGridCancelScheduledSendOperator(task_id="t", batch_id="b1", dry_run=True).execute(context())
    assert out["outcome"] == "would_cancel" and out["detail"]["current_status"]["state"] == "unknown"
    out = SendGridUnscheduleSingleSendOperator(task_id="t", single_send_id="ss1", dry_run=True).execute(context())
    assert out["detail"]["current_status"]["state"] == "scheduled"
    assert {r.method for r in requests_mock.request_history} == {"GET"}


def test_missing_single_send_id_names_it(requests_mock):
    with pytest.raises(AirflowFailException, match="single_send_id is required") as err:
        SendGridUnscheduleSingleSendOperator(task_id="t", single_send_id=None).execute(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called

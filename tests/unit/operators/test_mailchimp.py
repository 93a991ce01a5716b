"""MailchimpCancelCampaignOperator: the explicit action, validation before HTTP, failure policy, waiting."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.operators.mailchimp import MailchimpCancelCampaignOperator
from tests.unit.support.mailchimp import CAMPAIGN, CANCEL_SEND, KEY, UNSCHEDULE, context, problem, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_template_fields():
    assert set(MailchimpCancelCampaignOperator.template_fields) == {
        "campaign_id",
        "action",
        "mailchimp_conn_id",
        "dry_run_flag",
    }


@pytest.mark.parametrize("rendered", ["", "None"])
def test_a_missing_action_fails_before_any_http(requests_mock, rendered):
    op = MailchimpCancelCampaignOperator(task_id="t", campaign_id="c1", action=rendered)
    with pytest.raises(AirflowFailException, match="action is required") as err:
        op.execute(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called


def test_cancel_send_waits_through_canceling(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.post(CANCEL_SEND, status_code=204)
    requests_mock.get(CAMPAIGN, [{"json": {"status": "canceling"}}, {"json": {"status": "canceled"}}])
    op = MailchimpCancelCampaignOperator(
        task_id="t", campaign_id="c1", action="cancel_send", wait_for_completion=True, deferrable=False
    )
    out = op.execute(context())
    assert out["outcome"] == "cancelled" and out["final_status"]["raw_status"] == "canceled"
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "GET"]


def test_cancel_send_defers_while_canceling(requests_mock):
    requests_mock.post(CANCEL_SEND, status_code=204)
    requests_mock.get(CAMPAIGN, json={"status": "canceling"})
    op = MailchimpCancelCampaignOperator(
        task_id="t", campaign_id="c1", action="cancel_send", wait_for_completion=True, deferrable=True
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    assert exc.value.trigger.target == {"campaign_id": "c1"}
    _, kwargs = exc.value.trigger.serialize()
    assert KEY not in repr(kwargs)


def test_unschedule_has_nothing_to_wait_for(requests_mock):
    requests_mock.post(UNSCHEDULE, status_code=204)
    op = MailchimpCancelCampaignOperator(
        task_id="t", campaign_id="c1", action="unschedule", wait_for_completion=True, deferrable=True
    )
    out = op.execute(context())
    assert out == {
        "vendor": "mailchimp",
        "target": {"campaign_id": "c1", "action": "unschedule"},
        "outcome": "cancelled",
        "vendor_status": None,
        "detail": {"action": "unschedule"},
    }


def test_already_sent_fails_without_retries(requests_mock):
    requests_mock.post(CANCEL_SEND, status_code=400, json=problem(400))
    requests_mock.get(CAMPAIGN, json={"status": "sent"})
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError") as err:
        MailchimpCancelCampaignOperator(task_id="t", campaign_id="c1", action="cancel_send").execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


def test_the_wrong_action_fails_without_retries_and_says_which_fits(requests_mock):
    requests_mock.post(UNSCHEDULE, status_code=400, json=problem(400))
    requests_mock.get(CAMPAIGN, json={"status": "sending"})
    cancel_send = requests_mock.post(CANCEL_SEND, status_code=204)
    ctx = context(xcom=True)
    with pytest.raises(AirflowFailException, match="use action 'cancel_send'") as err:
        MailchimpCancelCampaignOperator(task_id="t", campaign_id="c1", action="unschedule", retries=3).execute(ctx)
    assert isinstance(err.value.error, VendorAPIError) and not cancel_send.called
    assert "use action 'cancel_send'" in ctx["ti"].xcoms["cancel_error"]


def test_a_retried_task_sends_the_same_action(requests_mock):
    requests_mock.post(UNSCHEDULE, status_code=204)
    op = MailchimpCancelCampaignOperator(task_id="t", campaign_id="c1", action="{{ params.a }}")
    op.render_template_fields(context={"params": {"a": "unschedule"}})
    op.execute(context(try_number=1))
    op.execute(context(try_number=2))
    assert [r.url for r in requests_mock.request_history] == [UNSCHEDULE, UNSCHEDULE]


def test_dry_run_reads_and_sends_nothing(requests_mock):
    requests_mock.get(CAMPAIGN, json={"status": "schedule"})
    post = requests_mock.post(UNSCHEDULE, status_code=204)
    out = MailchimpCancelCampaignOperator(task_id="t", campaign_id="c1", action="unschedule", dry_run=True).execute(
        context()
    )
    assert out["outcome"] == "would_cancel" and out["detail"]["current_status"]["state"] == "scheduled"
    assert not post.called

"""KlaviyoCancelCampaignOperator: validation before HTTP, the failure policy, retries, waiting and revert."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.operators.klaviyo import KlaviyoCancelCampaignOperator
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from tests.conftest import API_KEY
from tests.unit.support.klaviyo import CAMPAIGN, JOB, campaign, context, error, job, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_template_fields():
    assert set(KlaviyoCancelCampaignOperator.template_fields) == {
        "campaign_id",
        "action",
        "klaviyo_conn_id",
        "dry_run_flag",
    }


def test_every_bad_argument_fails_before_any_http(requests_mock):
    op = KlaviyoCancelCampaignOperator(task_id="t", campaign_id="a/b", action="stop")
    with pytest.raises(AirflowFailException, match="^InvalidTarget: 2 problems") as err:
        op.execute(context())
    assert set(err.value.error.fields) == {"campaign_id", "action"}
    assert not requests_mock.called


def test_cancel_returns_the_json_result(requests_mock):
    requests_mock.patch(JOB, status_code=204)
    result = KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert result == {
        "vendor": "klaviyo",
        "target": {"campaign_id": "c1", "action": "cancel"},
        "outcome": "cancelled",
        "vendor_status": None,
        "detail": {"action": "cancel"},
    }


def test_already_sent_fails_the_task_without_retries(requests_mock):
    requests_mock.patch(JOB, status_code=400, json=error(400))
    requests_mock.get(JOB, json=job("complete"))
    requests_mock.get(CAMPAIGN, json=campaign("Sent"))
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError: .*already been sent") as err:
        KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1", retries=3).execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)
    assert [r.method for r in requests_mock.request_history].count("PATCH") == 1


def test_a_retried_task_sends_the_same_request(requests_mock):
    requests_mock.patch(JOB, status_code=204)
    for try_number in (1, 2):
        KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1", action="revert").execute(
            context(try_number=try_number)
        )
    first, second = (json.loads(r.body) for r in requests_mock.request_history)
    assert first == second and first["data"]["attributes"]["action"] == "revert"


def test_unknown_campaign_fails_at_once(requests_mock):
    requests_mock.patch(JOB, status_code=404, json=error(404, "not_found", "no such send job"))
    ctx = context(xcom=True)
    with pytest.raises(AirflowFailException) as err:
        KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1").execute(ctx)
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 404
    assert (
        ctx["ti"]
        .xcoms["cancel_error"]
        .startswith("VendorAPIError: klaviyo PATCH /campaign-send-jobs/c1 failed: HTTP 404")
    )
    assert API_KEY not in ctx["ti"].xcoms["cancel_error"]


def test_wait_defers_while_the_send_job_drains(requests_mock):
    requests_mock.patch(JOB, status_code=204)
    requests_mock.get(JOB, json=job("processing"))
    requests_mock.get(CAMPAIGN, json=campaign("Cancelled"))
    op = KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger) and trigger.target == {"campaign_id": "c1"}
    _, kwargs = trigger.serialize()
    assert API_KEY not in json.dumps(kwargs, default=str)


def test_wait_returns_at_once_when_both_readings_say_cancelled(requests_mock):
    requests_mock.patch(JOB, status_code=204)
    requests_mock.get(JOB, json=job("cancelled"))
    requests_mock.get(CAMPAIGN, json=campaign("Cancelled"))
    op = KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    out = op.execute(context())
    assert (
        out["final_status"]["state"] == "cancelled" and out["final_status"]["extra"]["send_job_status"] == "cancelled"
    )


def test_a_revert_has_nothing_to_wait_for(requests_mock):
    requests_mock.patch(JOB, status_code=204)
    op = KlaviyoCancelCampaignOperator(
        task_id="t", campaign_id="c1", action="revert", wait_for_completion=True, deferrable=True
    )
    out = op.execute(context())
    assert out["outcome"] == "cancelled" and "final_status" not in out
    assert [r.method for r in requests_mock.request_history] == ["PATCH"]


def test_dry_run_reads_and_sends_nothing(requests_mock):
    requests_mock.get(JOB, json=job("processing"))
    requests_mock.get(CAMPAIGN, json=campaign("Sending"))
    patch = requests_mock.patch(JOB, status_code=204)
    out = KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1", dry_run=True).execute(context())
    assert out["outcome"] == "would_cancel" and out["vendor_status"] == "Sending" and not patch.called


def test_a_rendered_connection_id_is_used(requests_mock, set_conn):
    set_conn("klaviyo_eu", "klaviyo", "https://eu.klaviyo.test/api")
    requests_mock.patch("https://eu.klaviyo.test/api/campaign-send-jobs/c1", status_code=204)
    op = KlaviyoCancelCampaignOperator(task_id="t", campaign_id="c1", klaviyo_conn_id="{{ params.conn }}")
    op.render_template_fields(context={"params": {"conn": "klaviyo_eu"}})
    op.execute(context())
    assert requests_mock.called and op.hook.conn_id == "klaviyo_eu"


def test_missing_campaign_id_names_it(requests_mock):
    with pytest.raises(AirflowFailException, match="campaign_id is required") as err:
        KlaviyoCancelCampaignOperator(task_id="t", campaign_id="").execute(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called

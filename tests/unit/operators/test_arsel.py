"""ArselCancelCampaignOperator: validation, the task failure policy, idempotency across tries, waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.operators.arsel import ArselCancelCampaignOperator
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from tests.unit.conftest import make_context
from tests.unit.support.arsel import BASE, CANCEL, GET, context, set_default_conn
from tests.unit.support.common import vendor_error_event


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


@pytest.mark.parametrize("bad", [None, "", "   "])
def test_operator_refuses_missing_campaign_id_before_any_http(requests_mock, bad):
    op = ArselCancelCampaignOperator(task_id="t", campaign_id=bad)
    with pytest.raises(AirflowFailException, match="campaign_id is required") as err:
        op.execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_operator_refuses_bad_channel_before_any_http(requests_mock):
    with pytest.raises(AirflowFailException, match="channel must be one of") as err:
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1", channel="fax").execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_operator_returns_json_result_and_uses_a_stable_idempotency_key(requests_mock):
    requests_mock.post(CANCEL, json={"message": "Campaign cancelled"})
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1")
    result = op.execute(context(try_number=1))
    key1 = requests_mock.last_request.headers["Idempotency-Key"]
    assert result == {
        "vendor": "arsel",
        "target": {"campaign_id": "c1", "channel": "email"},
        "outcome": "cancelled",
        "vendor_status": "cancelled",
        "detail": {"message": "Campaign cancelled"},
    }
    ArselCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context(try_number=2))
    assert requests_mock.last_request.headers["Idempotency-Key"] == key1  # a retry repeats, not re-cancels
    requests_mock.post(f"{BASE}/email/campaigns/c2/cancel", json={"id": "c2"})
    ArselCancelCampaignOperator(task_id="t", campaign_id="c2").execute(context())
    assert requests_mock.last_request.headers["Idempotency-Key"] != key1


def test_operator_template_fields():
    assert {"campaign_id", "channel"} <= set(ArselCancelCampaignOperator.template_fields)


def test_operator_wait_deferrable_defers_to_trigger_with_timeout(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    requests_mock.get(GET, json={"id": "c1", "status": "sending"})
    op = ArselCancelCampaignOperator(
        task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True, poll_interval=5, wait_timeout=120
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger)
    assert trigger.target == {"campaign_id": "c1", "channel": "email"} and trigger.poll_interval == 5
    assert exc.value.timeout == timedelta(seconds=120) and exc.value.method_name == "execute_complete"
    assert exc.value.kwargs["result"]["outcome"] == "cancelled"


def test_operator_wait_returns_at_once_when_already_cancelled(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    requests_mock.get(GET, json={"id": "c1", "status": "Cancelled"})
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    assert op.execute(context())["final_status"]["state"] == "cancelled"


def test_operator_wait_non_deferrable_polls_until_cancelled(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.post(CANCEL, json={"id": "c1"})
    requests_mock.get(
        GET, [{"json": {"status": "sending"}}, {"json": {"status": "sending"}}, {"json": {"status": "cancelled"}}]
    )
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=False)
    assert op.execute(context())["final_status"]["raw_status"] == "cancelled"
    assert requests_mock.call_count == 4


def cancelled_status() -> dict:
    """The campaign status a success event of the trigger carries: cancelled."""
    return {
        "vendor": "arsel",
        "target": {},
        "state": "cancelled",
        "raw_status": "cancelled",
        "detail": "",
        "extra": {},
    }


def test_operator_execute_complete_success_and_error():
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1")
    status = cancelled_status()
    out = op.execute_complete(
        context(), {"status": "success", "message": "ok", "campaign_status": status}, result={"outcome": "cancelled"}
    )
    assert out["final_status"]["state"] == "cancelled" and out["outcome"] == "cancelled"
    with pytest.raises(AirflowException, match="Gave up"):
        op.execute_complete(
            context(), {"status": "error", "message": "Gave up after 5", "campaign_status": None}, result={}
        )
    sent = dict(status, state="completed", raw_status="sent")
    with pytest.raises(AirflowFailException) as err:
        op.execute_complete(context(), {"status": "error", "message": "ended", "campaign_status": sent}, result={})
    assert isinstance(err.value.error, CampaignFinishedError)
    with pytest.raises(AirflowException, match="Unexpected event"):
        op.execute_complete(context(), {"nope": 1}, result={})


def test_idempotency_key_is_kept_across_retries_but_renewed_by_a_manual_clear(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", retries=2)

    def ctx(try_number, max_tries):
        return make_context(task_id="t", run_id="r", try_number=try_number, max_tries=max_tries)

    keys = []
    for try_number, max_tries in ((1, 2), (2, 2), (3, 2), (4, 5)):  # three tries, then a clear (max_tries += 3)
        op.execute(ctx(try_number, max_tries))
        keys.append(requests_mock.last_request.headers["Idempotency-Key"])
    assert keys[0] == keys[1] == keys[2]  # automatic retries replay the same request
    assert keys[3] != keys[0]  # a clear is a fresh, deliberate request


def test_monthly_quota_fails_the_task_without_retries(requests_mock, no_sleep):
    requests_mock.post(
        CANCEL, status_code=429, json={"status_code": 429, "name": "monthly_quota_exceeded", "message": "quota"}
    )
    with pytest.raises(AirflowFailException, match="monthly_quota_exceeded"):
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert requests_mock.call_count == 1


def test_rate_limit_stays_retryable_for_the_task(requests_mock, no_sleep):
    requests_mock.post(
        CANCEL, status_code=429, headers={"retry-after": "1"}, json={"name": "rate_limit_exceeded", "message": "slow"}
    )
    with pytest.raises(VendorAPIError) as err:
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1", retry_limit=2).execute(context())
    assert not isinstance(err.value, AirflowFailException) and err.value.status_code == 429


# ------------------------------------------------------------------ new in the one-vendor-model refactor
def test_conn_id_is_templated_and_is_the_connection_the_hook_uses(requests_mock, set_conn):
    assert "arsel_conn_id" in ArselCancelCampaignOperator.template_fields
    set_conn("arsel_eu", "arsel", "https://eu.arsel.test/v1")
    requests_mock.post("https://eu.arsel.test/v1/email/campaigns/c1/cancel", json={"id": "c1"})
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", arsel_conn_id="{{ params.conn }}")
    op.render_template_fields(context={"params": {"conn": "arsel_eu"}})
    assert op.arsel_conn_id == "arsel_eu" and op.resolved_conn_id == "arsel_eu"
    assert op.hook.conn_id == "arsel_eu"
    op.execute(context())
    assert requests_mock.last_request.url == "https://eu.arsel.test/v1/email/campaigns/c1/cancel"
    assert not requests_mock.request_history[:-1]


def test_default_conn_id_and_hook_settings_from_the_operator():
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", retry_limit=2, request_timeout=7)
    assert op.resolved_conn_id == "arsel_default" == ArselHook.default_conn_name
    assert (op.hook.conn_id, op.hook.retry_limit, op.hook.timeout) == ("arsel_default", 2, 7)
    assert op.hook is op.hook  # cached


def test_every_bad_argument_is_reported_in_one_failure(requests_mock):
    op = ArselCancelCampaignOperator(task_id="t", campaign_id=" ", channel="fax", idempotency_key="k" * 257)
    with pytest.raises(AirflowFailException, match="^InvalidTarget: 3 problems") as err:
        op.execute(context())
    assert set(err.value.error.fields) == {"campaign_id", "channel", "idempotency_key"}
    assert not requests_mock.called


@pytest.mark.parametrize("blank", ["", "None", "null"])
def test_rendered_blank_channel_means_the_connections_default(requests_mock, set_conn, blank):
    set_conn("arsel_default", "arsel", BASE, default_channel="sms")
    requests_mock.post(f"{BASE}/sms/campaigns/c1/cancel", json={"id": "c1"})
    result = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", channel=blank).execute(context())
    assert result["target"] == {"campaign_id": "c1", "channel": "sms"}


def test_explicit_idempotency_key_is_sent_as_given(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    ArselCancelCampaignOperator(task_id="t", campaign_id="c1", idempotency_key=" my-key ").execute(context())
    assert requests_mock.last_request.headers["Idempotency-Key"] == "my-key"


def test_campaign_finished_fails_the_task_with_the_domain_error_as_cause(requests_mock):
    requests_mock.post(CANCEL, status_code=400, json={"name": "bad_request", "message": "cannot be cancelled"})
    requests_mock.get(GET, json={"status": "sent"})
    with pytest.raises(AirflowFailException, match="^CampaignFinishedError: .*already finished") as err:
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


def test_server_error_stays_retryable_for_the_task(requests_mock, no_sleep):
    requests_mock.post(CANCEL, status_code=503, json={"name": "unavailable", "message": "down"})
    with pytest.raises(VendorAPIError) as err:
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1", retry_limit=2).execute(context())
    assert not isinstance(err.value, AirflowFailException) and err.value.status_code == 503
    assert requests_mock.call_count == 2  # the Idempotency-Key makes the POST safe to repeat


def test_trigger_kwargs_carry_the_retry_limit_and_the_resolved_conn_id(requests_mock, set_conn):
    set_conn("arsel_eu", "arsel", BASE)
    requests_mock.post(CANCEL, json={"id": "c1"})
    requests_mock.get(GET, json={"status": "sending"})
    op = ArselCancelCampaignOperator(
        task_id="t",
        campaign_id="c1",
        arsel_conn_id="arsel_eu",
        wait_for_completion=True,
        deferrable=True,
        retry_limit=4,
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    _, kwargs = exc.value.trigger.serialize()
    assert kwargs["retry_limit"] == 4 and kwargs["conn_id"] == "arsel_eu"
    assert kwargs["hook_class"] == "airflow_provider_cancel.hooks.arsel.ArselHook"


def test_execute_complete_with_a_vendor_error_event_fails_without_retry_on_4xx():
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1")
    event = vendor_error_event("arsel", 401, "unauthorized")
    with pytest.raises(AirflowFailException, match="Stopped waiting: 401") as err:
        op.execute_complete(context(), event, result={})
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 401
    transient = dict(event, status_code=503, code=None, retryable=True)
    with pytest.raises(VendorAPIError) as err:
        op.execute_complete(context(), transient, result={})
    assert not isinstance(err.value, AirflowFailException)


def test_execute_complete_without_result_kwargs_pulls_it_from_xcom(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    requests_mock.get(GET, json={"status": "sending"})
    ctx = context(xcom=True)
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred):
        op.execute(ctx)
    out = op.execute_complete(ctx, {"status": "success", "message": "ok", "campaign_status": cancelled_status()})
    assert out["outcome"] == "cancelled" and out["target"] == {"campaign_id": "c1", "channel": "email"}


def test_dry_run_reads_the_status_and_sends_no_cancel(requests_mock):
    requests_mock.get(GET, json={"id": "c1", "status": "Sending", "name": "promo"})
    cancel = requests_mock.post(CANCEL, json={"message": "Campaign cancelled"})
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", dry_run="{{ params.dry_run }}")
    op.dry_run_flag = "True"  # as rendered
    out = op.execute(make_context(xcom=True))
    assert not cancel.called and [r.method for r in requests_mock.request_history] == ["GET"]
    assert out["outcome"] == "would_cancel" and out["vendor_status"] == "Sending"
    assert out["detail"]["current_status"]["state"] == "active"
    assert "dry_run_flag" in ArselCancelCampaignOperator.template_fields


def test_dry_run_must_be_a_boolean():
    from airflow.providers.common.compat.sdk import AirflowFailException

    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", dry_run="perhaps")
    with pytest.raises(AirflowFailException, match="dry_run must be true or false"):
        op.execute(make_context())


def test_a_failed_cancel_leaves_its_reason_for_the_report(requests_mock):
    requests_mock.post(
        CANCEL, status_code=404, json={"status_code": 404, "name": "not_found", "message": "Campaign not found"}
    )
    ctx = make_context(xcom=True)
    with pytest.raises(Exception, match="404"):
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1").execute(ctx)
    assert (
        ctx["ti"]
        .xcoms["cancel_error"]
        .startswith("VendorAPIError: arsel POST /email/campaigns/c1/cancel failed: HTTP 404")
    )

"""ArselHook, ArselCancelCampaignOperator and ArselCampaignStatusSensor against requests-mock."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, VendorAPIError
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.operators.arsel import ArselCancelCampaignOperator
from airflow_provider_cancel.sensors.arsel import ArselCampaignStatusSensor
from airflow_provider_cancel.status import CampaignState, CancelOutcome
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.validation import InvalidCancelRequest

BASE = "https://arsel.test/v1"
CANCEL = f"{BASE}/email/campaigns/c1/cancel"
GET = f"{BASE}/email/campaigns/c1"
NOT_CANCELLABLE = {"status_code": 400, "name": "bad_request", "message": "Campaign cannot be cancelled in its current status"}


def context(task_id="cancel", run_id="manual__1", try_number=1):
    ti = SimpleNamespace(dag_id="d", task_id=task_id, run_id=run_id, map_index=-1, try_number=try_number)
    return {"ti": ti}


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_conn("arsel_default", "arsel", BASE)


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


# ------------------------------------------------------------------ operator
@pytest.mark.parametrize("bad", [None, "", "   "])
def test_operator_refuses_missing_campaign_id_before_any_http(requests_mock, bad):
    op = ArselCancelCampaignOperator(task_id="t", campaign_id=bad)
    with pytest.raises(InvalidCancelRequest, match="campaign_id is required"):
        op.execute(context())
    assert not requests_mock.called


def test_operator_refuses_bad_channel_before_any_http(requests_mock):
    with pytest.raises(InvalidCancelRequest, match="channel must be one of"):
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1", channel="fax").execute(context())
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
    requests_mock.get(GET, [{"json": {"status": "sending"}}, {"json": {"status": "sending"}}, {"json": {"status": "cancelled"}}])
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=False)
    assert op.execute(context())["final_status"]["raw_status"] == "cancelled"
    assert requests_mock.call_count == 4


def test_operator_execute_complete_success_and_error():
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1")
    status = {"vendor": "arsel", "target": {}, "state": "cancelled", "raw_status": "cancelled", "detail": "", "extra": {}}
    out = op.execute_complete(context(), {"status": "success", "message": "ok", "campaign_status": status}, result={"outcome": "cancelled"})
    assert out["final_status"]["state"] == "cancelled" and out["outcome"] == "cancelled"
    with pytest.raises(AirflowException, match="Gave up"):
        op.execute_complete(context(), {"status": "error", "message": "Gave up after 5", "campaign_status": None}, result={})
    sent = dict(status, state="completed", raw_status="sent")
    with pytest.raises(CampaignFinishedError):
        op.execute_complete(context(), {"status": "error", "message": "ended", "campaign_status": sent}, result={})
    with pytest.raises(AirflowException, match="Unexpected event"):
        op.execute_complete(context(), {"nope": 1}, result={})


# ------------------------------------------------------------------ sensor
def test_sensor_poke_waits_then_succeeds(requests_mock):
    requests_mock.get(GET, [{"json": {"status": "sending"}}, {"json": {"status": "Cancelled"}}])
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1")
    assert sensor.poke(context()).is_done is False
    done = sensor.poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_sensor_fails_at_once_when_campaign_was_sent(requests_mock):
    requests_mock.get(GET, json={"status": "sent"})
    with pytest.raises(CampaignFinishedError, match="ended without being cancelled"):
        ArselCampaignStatusSensor(task_id="s", campaign_id="c1").poke(context())


def test_sensor_terminal_target_accepts_sent(requests_mock):
    requests_mock.get(GET, json={"status": "sent"})
    assert ArselCampaignStatusSensor(task_id="s", campaign_id="c1", target_state="terminal").poke(context()).is_done


def test_sensor_unknown_status_keeps_waiting(requests_mock):
    requests_mock.get(GET, json={"status": "warp-speed"})
    assert ArselCampaignStatusSensor(task_id="s", campaign_id="c1").poke(context()).is_done is False


def test_sensor_deferrable_pokes_once_then_defers_with_sensor_timeout(requests_mock):
    requests_mock.get(GET, json={"status": "queued"})
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1", deferrable=True, timeout=600, poke_interval=7)
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert requests_mock.call_count == 1
    assert exc.value.timeout == timedelta(seconds=600)
    assert exc.value.trigger.poll_interval == 7 and exc.value.trigger.target_state == "cancelled"


def test_sensor_rejects_bad_target_state():
    with pytest.raises(ValueError, match="target_state"):
        ArselCampaignStatusSensor(task_id="s", campaign_id="c1", target_state="done")


def test_idempotency_key_is_kept_across_retries_but_renewed_by_a_manual_clear(requests_mock):
    requests_mock.post(CANCEL, json={"id": "c1"})
    op = ArselCancelCampaignOperator(task_id="t", campaign_id="c1", retries=2)

    def ctx(try_number, max_tries):
        ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=try_number, max_tries=max_tries)
        return {"ti": ti, "task": op}

    keys = []
    for try_number, max_tries in ((1, 2), (2, 2), (3, 2), (4, 5)):  # three tries, then a clear (max_tries += 3)
        op.execute(ctx(try_number, max_tries))
        keys.append(requests_mock.last_request.headers["Idempotency-Key"])
    assert keys[0] == keys[1] == keys[2]  # automatic retries replay the same request
    assert keys[3] != keys[0]  # a clear is a fresh, deliberate request


def test_monthly_quota_fails_the_task_without_retries(requests_mock, no_sleep):
    from airflow.sdk.exceptions import AirflowFailException

    requests_mock.post(CANCEL, status_code=429, json={"status_code": 429, "name": "monthly_quota_exceeded", "message": "quota"})
    with pytest.raises(AirflowFailException, match="monthly_quota_exceeded"):
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert requests_mock.call_count == 1


def test_rate_limit_stays_retryable_for_the_task(requests_mock, no_sleep):
    from airflow.sdk.exceptions import AirflowFailException

    requests_mock.post(CANCEL, status_code=429, headers={"retry-after": "1"}, json={"name": "rate_limit_exceeded", "message": "slow"})
    with pytest.raises(VendorAPIError) as err:
        ArselCancelCampaignOperator(task_id="t", campaign_id="c1", retry_limit=2).execute(context())
    assert not isinstance(err.value, AirflowFailException) and err.value.status_code == 429

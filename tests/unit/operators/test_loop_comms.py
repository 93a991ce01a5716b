"""LoopCommsCancelCampaignOperator: validation, the task failure policy, retries and waiting on the sends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import (
    CampaignFinishedError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.hooks.loop_comms import LoopCommsHook
from airflow_provider_cancel.operators.loop_comms import LoopCommsCancelCampaignOperator
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.vendors.loop_comms import classify_history
from tests.unit.conftest import FakeTI, make_context
from tests.unit.support.common import vendor_error_event
from tests.unit.support.loop_comms import BASE, CANCEL, HISTORY, TOKEN, campaign, context, iso, send, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "unauthorized", "message": "Invalid access token"}),
        (403, {"error": "insufficient_scope", "message": "Missing scope comms:admin"}),
    ],
)
def test_cancel_auth_errors_fail_the_task_at_once_without_leaking_the_token(requests_mock, status, body):
    requests_mock.post(CANCEL, status_code=status, json=body)
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1")
    with pytest.raises(AirflowFailException, match=f"HTTP {status} \\[{body['error']}\\]") as err:
        op.execute(context())
    assert requests_mock.call_count == 1 and TOKEN not in str(err.value)


# ------------------------------------------------------------------ cancel: undocumented refusals
@pytest.mark.parametrize("deferrable", [True, False])
def test_operator_wait_after_has_not_been_cancelled_fails_at_once_without_waiting(
    requests_mock, monkeypatch, deferrable
):
    # Before the fix the wait got cancel_status="cancelled" and "confirmed" once the send finished.
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: pytest.fail("waited"))
    requests_mock.post(
        CANCEL,
        status_code=409,
        json={"error": "conflict", "message": "Campaign has not been cancelled: a send is in progress"},
    )
    requests_mock.get(HISTORY, [{"json": {"sends": [send("sending")]}}, {"json": {"sends": [send("sent", True)]}}])
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=deferrable)
    with pytest.raises(AirflowFailException, match="not confirmed.*running"):
        op.execute(context())
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]


@pytest.mark.parametrize("bad", [None, "", "   ", True, 1.5, ["c1"]])
def test_operator_refuses_a_bad_campaign_id_before_any_http(requests_mock, bad):
    with pytest.raises(AirflowFailException, match="campaign_id is required") as err:
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id=bad).execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_operator_constructor_looks_nothing_up(monkeypatch):
    monkeypatch.setattr(LoopCommsHook, "get_connection", lambda *a, **k: pytest.fail("looked up in ctor"))
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="{{ params.id }}", loop_comms_conn_id="missing")
    assert (
        op.template_fields == ("campaign_id", "loop_comms_conn_id", "dry_run_flag") and op.resolved_conn_id == "missing"
    )


def test_operator_returns_json_result_and_a_retry_cancels_the_same_campaign(requests_mock):
    requests_mock.post(CANCEL, [{"json": campaign()}, {"json": campaign("cancelled", iso(-60))}])
    first = LoopCommsCancelCampaignOperator(task_id="t", campaign_id=" c1 ").execute(context(try_number=1))
    assert first["outcome"] == "cancelled" and first["target"] == {"campaign_id": "c1"}
    json.dumps(first)  # XCom-safe
    again = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context(try_number=2))
    assert again["outcome"] == "already_cancelled"
    assert {r.url for r in requests_mock.request_history} == {CANCEL}
    assert TOKEN not in json.dumps([first, again])


def test_operator_fails_without_retry_on_a_sent_campaign(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already sent"})
    requests_mock.get(HISTORY, json={"sends": [send("completed", completed=True)]})
    with pytest.raises(AirflowFailException, match="already been sent"):
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())


def test_operator_wait_deferrable_defers_with_the_cancel_facts_in_the_target(requests_mock):
    body = campaign()
    requests_mock.post(CANCEL, json=body)
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    op = LoopCommsCancelCampaignOperator(
        task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True, poll_interval=3, wait_timeout=90
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger) and trigger.poll_interval == 3
    assert trigger.target == {
        "campaign_id": "c1",
        "cancel_status": "cancelled",
        "cancelled_at": body["campaign"]["cancelled_at"],
    }
    assert exc.value.timeout == timedelta(seconds=90) and exc.value.kwargs["result"]["outcome"] == "cancelled"
    assert exc.value.kwargs["result"]["detail"]["evidence"] == "campaign"
    classpath, kwargs = trigger.serialize()
    assert kwargs["hook_class"] == "airflow_provider_cancel.hooks.loop_comms.LoopCommsHook"
    assert TOKEN not in json.dumps(kwargs)  # serialisable, and no secret in it


@pytest.mark.parametrize(
    ("sends", "state"),
    [([send("cancelled", True)], "cancelled"), ([send("sending")], "active")],
)
def test_operator_wait_after_a_history_judged_refusal_carries_no_cancel_facts(requests_mock, sends, state):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, [{"json": {"sends": [send("cancelled", True)]}}, {"json": {"sends": sends}}])
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    if state == "cancelled":
        assert op.execute(context())["final_status"]["state"] == "cancelled"
        return
    with pytest.raises(TaskDeferred) as exc:  # a send showing up later is judged from history alone
        op.execute(context())
    assert exc.value.trigger.target == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}


def test_operator_wait_returns_at_once_when_no_send_is_running(requests_mock):
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, json={"sends": [send("cancelled", True)]})
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    assert op.execute(context())["final_status"]["state"] == "cancelled"


def test_operator_wait_non_deferrable_polls_until_the_send_finished(requests_mock, monkeypatch):
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", lambda s: None)
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, [{"json": {"sends": [send("sending")]}}, {"json": {"sends": [send("cancelled", True)]}}])
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=False)
    out = op.execute(context())
    assert out["final_status"]["state"] == "cancelled" and requests_mock.call_count == 3


class RecordingTI(FakeTI):
    """A task instance that keeps XComs in a dict and checks it is asked for its own XCom, as across a deferral."""

    def xcom_pull(self, task_ids=None, key="return_value", map_indexes=None):
        assert (task_ids, map_indexes) == (self.task_id, self.map_index)
        return super().xcom_pull(task_ids=task_ids, key=key, map_indexes=map_indexes)


def test_deferred_cancel_resumes_with_its_result_even_when_the_defer_kwargs_are_dropped(requests_mock):
    # `airflow dags test` resumes with {"event": ...} only; the result must come back from XCom.
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    ti = RecordingTI(dag_id="d", task_id="t", run_id="r", map_index=3, try_number=1, xcoms={})
    ctx = {**make_context(task_id="t", run_id="r"), "ti": ti}
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as exc:
        op.execute(ctx)
    assert ti.xcoms["cancel_result"] == exc.value.kwargs["result"]
    final = classify_history("c1", [send("cancelled", True)], "cancelled", iso()).to_dict()
    out = op.execute_complete(ctx, {"status": "success", "message": "ok", "campaign_status": final})
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"


# ------------------------------------------------------------------ new in the one-vendor-model refactor
def test_conn_id_is_templated_and_is_the_connection_the_hook_uses(requests_mock, set_conn):
    assert "loop_comms_conn_id" in LoopCommsCancelCampaignOperator.template_fields
    set_conn("loop_eu", "loop_comms", "https://eu.loop.test", password=TOKEN)
    requests_mock.post("https://eu.loop.test/v1/admin/campaigns/c1/cancel", json=campaign())
    op = LoopCommsCancelCampaignOperator(
        task_id="t", campaign_id="{{ params.id }}", loop_comms_conn_id="{{ params.conn }}"
    )
    op.render_template_fields(context={"params": {"conn": "loop_eu", "id": "c1"}})
    assert (op.loop_comms_conn_id, op.resolved_conn_id, op.hook.conn_id) == ("loop_eu", "loop_eu", "loop_eu")
    assert op.execute(context())["outcome"] == "cancelled"
    assert [r.url for r in requests_mock.request_history] == ["https://eu.loop.test/v1/admin/campaigns/c1/cancel"]


def test_default_conn_id_and_hook_settings_from_the_operator():
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", retry_limit=3, request_timeout=9)
    assert op.resolved_conn_id == LoopCommsHook.default_conn_name == "loop_comms_default"
    assert (op.hook.conn_id, op.hook.retry_limit, op.hook.timeout) == ("loop_comms_default", 3, 9)


def test_a_sent_campaign_fails_now_with_the_domain_error_as_cause(requests_mock):
    requests_mock.post(CANCEL, json=campaign("sent", None, sent_at=iso(-600)))
    with pytest.raises(
        AirflowFailException, match="^CampaignFinishedError: .*already finished with status 'sent'"
    ) as err:
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


def test_a_refusal_with_a_send_running_fails_now_with_the_vendor_error_as_cause(requests_mock):
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    with pytest.raises(AirflowFailException, match="^VendorAPIError: .*not proof") as err:
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 409


def test_a_404_fails_now(requests_mock):
    requests_mock.post(CANCEL, status_code=404, json={"error": "not_found", "message": "Campaign not found"})
    with pytest.raises(AirflowFailException, match="HTTP 404 \\[not_found\\]") as err:
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert isinstance(err.value.error, VendorAPIError) and requests_mock.call_count == 1


def test_a_500_every_time_stays_retryable_for_the_task(requests_mock, no_sleep):
    requests_mock.post(CANCEL, status_code=500, json={"error": "internal_error", "message": "Cancel failed"})
    with pytest.raises(VendorAPIError, match="may or may not have taken effect") as err:
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", retry_limit=2).execute(context())
    assert not isinstance(err.value, AirflowFailException) and requests_mock.call_count == 2


def test_an_unreadable_200_stays_retryable_for_the_task(requests_mock):
    requests_mock.post(CANCEL, json=campaign("sending", None))
    with pytest.raises(UnexpectedAnswerError, match="it was not cancelled") as err:
        LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1").execute(context())
    assert not isinstance(err.value, AirflowFailException)


def test_a_campaign_id_rendered_empty_fails_before_any_http_with_its_field_named(requests_mock):
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="{{ params.id }}")
    op.render_template_fields(context={"params": {"id": ""}})
    with pytest.raises(AirflowFailException, match="^InvalidTarget: campaign_id is required") as err:
        op.execute(context())
    assert err.value.error.fields == ["campaign_id"] and not requests_mock.called


def test_trigger_kwargs_carry_the_retry_limit_and_the_resolved_conn_id(requests_mock, set_conn):
    set_conn("loop_eu", "loop_comms", BASE, password=TOKEN)
    requests_mock.post(CANCEL, json=campaign())
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    op = LoopCommsCancelCampaignOperator(
        task_id="t",
        campaign_id="c1",
        loop_comms_conn_id="loop_eu",
        wait_for_completion=True,
        deferrable=True,
        retry_limit=4,
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    _, kwargs = exc.value.trigger.serialize()
    assert (kwargs["retry_limit"], kwargs["conn_id"]) == (4, "loop_eu")


def test_a_wait_that_sees_the_campaign_sent_fails_now(requests_mock):
    # Refused as "already cancelled" with an empty history (the hint breaks the tie), then a normal send finishes:
    # the hint no longer counts and history shows the campaign sent.
    requests_mock.post(CANCEL, status_code=409, json={"error": "conflict", "message": "Campaign already cancelled"})
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1", wait_for_completion=True, deferrable=False)
    requests_mock.get(HISTORY, [{"json": {"sends": []}}, {"json": {"sends": [send("completed", True)]}}])
    with pytest.raises(AirflowFailException, match="ended without being cancelled") as err:
        op.execute(context())
    assert isinstance(err.value.error, CampaignFinishedError)


@pytest.mark.parametrize(
    ("event", "cause", "status_code"),
    [
        (vendor_error_event("loop_comms", 403, "insufficient_scope"), VendorAPIError, 403),
        (
            {
                "status": "error",
                "message": "ended",
                "campaign_status": {
                    "vendor": "loop_comms",
                    "target": {"campaign_id": "c1"},
                    "state": "completed",
                    "raw_status": "completed",
                    "detail": "",
                    "extra": {},
                },
            },
            CampaignFinishedError,
            None,
        ),
    ],
)
def test_execute_complete_fails_now_on_an_error_a_retry_cannot_fix(event, cause, status_code):
    op = LoopCommsCancelCampaignOperator(task_id="t", campaign_id="c1")
    with pytest.raises(AirflowFailException, match=event["message"]) as err:
        op.execute_complete(context(), event, result={"outcome": "cancelled"})
    assert isinstance(err.value.error, cause)
    assert getattr(err.value.error, "status_code", None) == status_code

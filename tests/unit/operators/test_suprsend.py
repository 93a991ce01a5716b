"""The SuprSend cancel operators: validation, the failure policy, waiting, and retries (task state store / XCom)."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta

import jinja2
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import InvalidTarget, VendorAPIError
from airflow_provider_cancel.operators.memory import CANCEL_RESULT_XCOM_KEY
from airflow_provider_cancel.operators.suprsend import (
    CANCEL_STATE_KEY,
    BroadCancelRetryRefused,
    SuprSendCancelBroadcastOperator,
    SuprSendCancelWorkflowOperator,
    SuprSendNothingMatchedError,
)
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger
from airflow_provider_cancel.vendors.suprsend import DEFAULT_SETTLE_SECONDS, settle_status
from tests.unit.conftest import FakeTaskStateStore, make_context
from tests.unit.support.common import vendor_error_event
from tests.unit.support.suprsend import (
    BC_CANCEL,
    KEY,
    MESSAGES,
    WF_400,
    WF_CANCEL,
    context,
    page,
    query,
    sent_json,
    set_default_conn,
)


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


# ------------------------------------------------------------------ construction, templating, connection
def test_operators_template_the_filters():
    assert {"execution_id", "recipients", "idempotency_key", "workflow_slug", "tenant_id", "allow_broad_match"} <= set(
        SuprSendCancelWorkflowOperator.template_fields
    )
    assert {"execution_id", "list_id", "idempotency_key", "tenant_id", "allow_broad_match"} <= set(
        SuprSendCancelBroadcastOperator.template_fields
    )


@pytest.mark.parametrize("cls", [SuprSendCancelWorkflowOperator, SuprSendCancelBroadcastOperator])
def test_suprsend_conn_id_is_templated_and_is_the_connection_the_hook_uses(cls, set_conn, requests_mock):
    assert "suprsend_conn_id" in cls.template_fields and cls.conn_id_field() == "suprsend_conn_id"
    set_conn("suprsend_eu", "suprsend", "https://eu.suprsend.test", password=KEY)
    requests_mock.post(f"https://eu.suprsend.test/v1/{cls.run_type}_run/cancel/", json={"execution_ids": ["x1"]})
    op = cls(task_id="t", execution_id="{{ params.run }}", suprsend_conn_id="{{ params.conn }}")
    op.render_template_fields({"params": {"run": "x1", "conn": "suprsend_eu"}}, jinja_env=jinja2.Environment())
    assert op.suprsend_conn_id == op.resolved_conn_id == op.hook.conn_id == "suprsend_eu"
    assert op.execute(context())["detail"]["execution_ids"] == ["x1"]
    assert requests_mock.last_request.url.startswith("https://eu.suprsend.test/")


def test_default_connection_is_suprsend_default():
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1")
    assert op.resolved_conn_id == op.hook.conn_id == "suprsend_default"


def test_operator_constructor_needs_no_connection(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SUPRSEND_DEFAULT", raising=False)
    SuprSendCancelWorkflowOperator(task_id="t", workflow_slug="promo")  # a broad filter is only checked at run time


# ------------------------------------------------------------------ validation before any HTTP
@pytest.mark.parametrize(
    ("op_kwargs", "match"),
    [
        ({}, "needs at least one filter: execution_id, recipients, idempotency_key, workflow_slug"),
        ({"workflow_slug": "promo"}, "allow_broad_match=True"),
        ({"recipients": '["user_1"]', "allow_broad_match": "False"}, "allow_broad_match=True"),
        ({"workflow_slug": "promo", "allow_broad_match": "maybe"}, "allow_broad_match must be true or false"),
        ({"execution_id": "dsl_1", "settle_seconds": "soon"}, "settle_seconds"),
    ],
)
def test_workflow_operator_refuses_before_any_http(requests_mock, op_kwargs, match):
    with pytest.raises(AirflowFailException, match=match) as err:
        SuprSendCancelWorkflowOperator(task_id="t", **op_kwargs).execute(context())
    assert not requests_mock.called
    assert isinstance(err.value.error, InvalidTarget)  # bad input: a task retry cannot help
    assert str(err.value).startswith("InvalidTarget: ")


def test_every_bad_argument_is_reported_in_one_failure(requests_mock):
    op = SuprSendCancelWorkflowOperator(
        task_id="t", execution_id=["a"], allow_broad_match="maybe", settle_seconds="soon"
    )
    with pytest.raises(AirflowFailException) as err:
        op.execute(context())
    assert set(err.value.error.fields) == {"execution_id", "allow_broad_match", "settle_seconds"}
    assert not requests_mock.called


def test_broadcast_operator_list_id_alone_needs_the_opt_in(requests_mock):
    with pytest.raises(AirflowFailException, match="broad SuprSend broadcast cancel") as err:
        SuprSendCancelBroadcastOperator(task_id="t", list_id="all-users").execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called
    requests_mock.post(BC_CANCEL, json={"execution_ids": ["b1", "b2"]})
    out = SuprSendCancelBroadcastOperator(task_id="t", list_id="all-users", allow_broad_match="True").execute(context())
    assert (
        out["outcome"] == "cancelled"
        and out["detail"]["execution_ids"] == ["b1", "b2"]
        and out["detail"]["broad_match"]
    )
    assert sent_json(requests_mock) == {"list_id": "all-users"}


def test_operator_400_fails_fast_with_code_and_message(requests_mock):
    requests_mock.post(WF_CANCEL, status_code=400, json=WF_400)
    op = SuprSendCancelWorkflowOperator(task_id="t", workflow_slug="promo", allow_broad_match=True)
    with pytest.raises(AirflowFailException, match=r"HTTP 400 \[400\]: at least one filter is required") as err:
        op.execute(context())
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 400


def test_operator_5xx_stays_retryable(requests_mock, no_sleep):
    requests_mock.post(WF_CANCEL, status_code=503, json={"code": 503, "message": "down"})
    with pytest.raises(VendorAPIError) as err:
        SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", retry_limit=2).execute(context())
    assert not isinstance(err.value, AirflowFailException) and requests_mock.call_count == 2


@pytest.mark.parametrize("flag", ["resend_broad_match_on_retry", "fail_if_nothing_matched"])
@pytest.mark.parametrize("value", ["maybe", 2.5, ["x"]])
def test_flags_that_are_not_booleans_are_refused_before_any_http(requests_mock, flag, value):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", **{flag: value})
    with pytest.raises(AirflowFailException, match=f"{flag} must be true or false") as err:
        op.execute(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


# ------------------------------------------------------------------ retries of the task
@pytest.mark.parametrize(
    ("try_number", "max_tries", "retries", "expected"),
    [
        (1, 2, 2, False),
        (2, 2, 2, True),
        (3, 2, 2, True),
        (4, 5, 2, False),
        (5, 5, 2, True),
        (1, 0, 0, False),
        (2, 1, 0, False),
    ],
)
def test_is_automatic_retry(try_number, max_tries, retries, expected):
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", retries=retries)
    assert op.is_automatic_retry(context(try_number, max_tries)) is expected


def test_broad_cancel_is_not_resent_on_an_automatic_retry(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_9"]})
    op = SuprSendCancelWorkflowOperator(task_id="t", workflow_slug="promo", allow_broad_match=True, retries=2)
    with pytest.raises(BroadCancelRetryRefused, match="Nothing was sent"):
        op.execute(context(try_number=2, max_tries=2))
    assert not requests_mock.called
    # A cleared task is a fresh start (max_tries = last try + retries): the human decided to send again.
    assert op.execute(context(try_number=4, max_tries=5))["outcome"] == "cancelled"
    resend = SuprSendCancelWorkflowOperator(
        task_id="t", workflow_slug="promo", allow_broad_match=True, resend_broad_match_on_retry=True, retries=2
    )
    resend.execute(context(try_number=2, max_tries=2))
    assert requests_mock.call_count == 2


def test_targeted_cancel_is_resent_on_retry(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", retries=2)
    assert op.execute(context(try_number=2, max_tries=2))["outcome"] == "nothing_to_cancel"
    assert requests_mock.call_count == 1


def test_fail_if_nothing_matched(requests_mock):
    requests_mock.post(BC_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelBroadcastOperator(task_id="t", idempotency_key="typo", fail_if_nothing_matched=True, retries=2)
    with pytest.raises(SuprSendNothingMatchedError, match="matched no running run"):
        op.execute(context())
    assert issubclass(SuprSendNothingMatchedError, AirflowFailException)
    # On a retry an empty answer may mean the first try cancelled it: warn, succeed.
    assert op.execute(context(try_number=2, max_tries=2))["outcome"] == "nothing_to_cancel"
    default = SuprSendCancelBroadcastOperator(task_id="t", idempotency_key="typo")
    assert default.execute(context())["outcome"] == "nothing_to_cancel"


def test_a_lost_answer_then_nothing_matched_is_not_a_nothing_matched_failure(requests_mock, no_sleep):
    # Try 1's first attempt cancelled the run but its answer was lost (500); the repeat matched nothing.
    requests_mock.post(WF_CANCEL, [{"status_code": 500, "json": {"message": "oops"}}, {"json": {"execution_ids": []}}])
    store = FakeTaskStateStore()
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1", fail_if_nothing_matched=True, retries=2)
    result = op.execute(try_context(1, store))
    assert result["outcome"] == "already_cancelled" and result["detail"]["answer_lost"] is True
    assert store.get("suprsend_cancel")["result"]["detail"]["execution_ids"] == ["dsl_1"]  # a retry waits on it too


@pytest.mark.parametrize("value", ["false", "False", "0", "no", ""])
def test_resend_broad_match_on_retry_parses_rendered_false(requests_mock, value):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_9"]})
    op = SuprSendCancelWorkflowOperator(
        task_id="t", workflow_slug="promo", allow_broad_match=True, resend_broad_match_on_retry=value, retries=2
    )
    with pytest.raises(BroadCancelRetryRefused):
        op.execute(context(try_number=2, max_tries=2))
    assert not requests_mock.called
    resend = SuprSendCancelWorkflowOperator(
        task_id="t", workflow_slug="promo", allow_broad_match=True, resend_broad_match_on_retry="true", retries=2
    )
    assert resend.execute(context(try_number=2, max_tries=2))["outcome"] == "cancelled"


# ------------------------------------------------------------------ waiting for the runs to settle
def test_wait_deferrable_defers_with_a_stateless_target(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1", "dsl_2"]})
    requests_mock.get(MESSAGES, json=page())
    op = SuprSendCancelWorkflowOperator(
        task_id="t",
        execution_id="dsl_1",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=5,
        wait_timeout=300,
        settle_seconds="45",
        retry_limit=4,
    )
    with pytest.raises(TaskDeferred) as exc:
        op.execute(context())
    trigger = exc.value.trigger
    assert isinstance(trigger, CampaignStatusTrigger) and trigger.hook_class.endswith("SuprSendHook")
    result = exc.value.kwargs["result"]
    assert trigger.target == {
        "execution_ids": ["dsl_1", "dsl_2"],
        "since": result["detail"]["cancelled_at"],
        "settle_seconds": 45.0,
    }
    assert exc.value.timeout == timedelta(seconds=300) and requests_mock.call_count == 2  # POST + first check
    assert trigger.conn_id == "suprsend_default" and trigger.retry_limit == 4
    assert KEY not in json.dumps(trigger.serialize()) and KEY not in json.dumps(result)


def test_wait_returns_at_once_when_nothing_matched(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    op = SuprSendCancelWorkflowOperator(task_id="t", idempotency_key="k", wait_for_completion=True, deferrable=True)
    assert op.execute(context())["outcome"] == "nothing_to_cancel"
    assert requests_mock.call_count == 1  # no status read: nothing can still send


def test_wait_non_deferrable_polls_until_settled(requests_mock, monkeypatch):
    sleeps = []
    monkeypatch.setattr("airflow_provider_cancel.operators.base.time.sleep", sleeps.append)
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1"]})
    requests_mock.get(MESSAGES, json=page())
    op = SuprSendCancelWorkflowOperator(
        task_id="t", execution_id="dsl_1", wait_for_completion=True, deferrable=False, settle_seconds=0
    )
    out = op.execute(context())
    assert out["final_status"]["state"] == "cancelled" and out["final_status"]["extra"]["new_messages"] == 0


def test_execute_complete_adds_the_final_status():
    t0 = dt.datetime(2026, 5, 1, 12, 0, 0, 400000, tzinfo=dt.UTC)
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1")
    status = settle_status(page(), "dsl_1", t0, 1.0, t0 + timedelta(seconds=5)).to_dict()
    out = op.execute_complete(
        context(), {"status": "success", "message": "ok", "campaign_status": status}, result={"outcome": "cancelled"}
    )
    assert out["final_status"]["state"] == "cancelled" and out["outcome"] == "cancelled"


def test_execute_complete_fails_without_retry_on_a_401_seen_while_deferred():
    op = SuprSendCancelWorkflowOperator(task_id="t", execution_id="dsl_1")
    event = vendor_error_event("suprsend", 401, "401", message="Stopped waiting: invalid api key")
    with pytest.raises(AirflowFailException, match="invalid api key") as err:
        op.execute_complete(context(), event, result={"outcome": "cancelled"})
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 401


# ------------------------------------------------------------------ retries after the wait failed
def try_context(try_number, store=None, xcoms=None, max_tries=2):
    """A context of one try; ``xcoms`` is shared between tries when given (XComs that survived)."""
    ctx = make_context(try_number=try_number, max_tries=max_tries, store=store, xcom=xcoms is not None)
    if xcoms is not None:
        ti = ctx["ti"]
        ti.xcoms = xcoms
        pull = ti.xcom_pull

        def checked_pull(task_ids=None, key="return_value", map_indexes=None):
            assert (task_ids, map_indexes) == (ti.task_id, ti.map_index)
            return pull(task_ids=task_ids, key=key, map_indexes=map_indexes)

        ti.xcom_pull = checked_pull
    return ctx


def workflow_op(**kwargs):
    """A fresh operator per try, as Airflow builds one per try."""
    defaults = {"task_id": "t", "idempotency_key": "order-77", "wait_for_completion": True, "retries": 2}
    return SuprSendCancelWorkflowOperator(**{**defaults, **kwargs})


def test_retry_after_a_failed_deferred_wait_defers_again_on_the_earlier_runs(requests_mock):
    # Try 1 cancels dsl_1 and defers; the wait then times out (messages kept coming) or the trigger gave up.
    store = FakeTaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, json=page())
    with pytest.raises(TaskDeferred) as first:
        workflow_op(deferrable=True).execute(try_context(1, store))
    try_1 = first.value.kwargs["result"]
    # Try 2 re-sends the cancel; SuprSend answers [] because dsl_1 is already cancelled. It must wait again.
    with pytest.raises(TaskDeferred) as second:
        workflow_op(deferrable=True).execute(try_context(2, store))
    assert second.value.trigger.target == {
        "execution_ids": ["dsl_1"],
        "since": try_1["detail"]["cancelled_at"],
        "settle_seconds": DEFAULT_SETTLE_SECONDS,
    }
    result = second.value.kwargs["result"]
    assert result["outcome"] == "cancelled" and result["detail"]["resent"] is True
    assert result["detail"]["earlier_try"] == {
        "execution_ids": ["dsl_1"],
        "cancelled_at": try_1["detail"]["cancelled_at"],
    }
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "POST", "GET"]


def test_retry_after_a_transient_error_in_the_polling_wait_polls_again(requests_mock):
    store = FakeTaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, [{"status_code": 503, "json": {"code": 503, "message": "busy"}}, {"json": page()}])
    with pytest.raises(VendorAPIError):  # retryable: the task goes up for retry
        workflow_op(deferrable=False, retry_limit=1).execute(try_context(1, store))
    try_1 = store.data[CANCEL_STATE_KEY]["result"]
    assert try_1["detail"]["execution_ids"] == ["dsl_1"] and store.data[CANCEL_STATE_KEY]["try_number"] == 1
    out = workflow_op(deferrable=False, settle_seconds=0).execute(try_context(2, store))
    assert out["outcome"] == "cancelled" and out["final_status"]["state"] == "cancelled"
    assert (
        out["detail"]["execution_ids"] == ["dsl_1"] and out["detail"]["cancelled_at"] == try_1["detail"]["cancelled_at"]
    )
    last = query(requests_mock.last_request)  # try 2 read the message log of dsl_1 since try 1's cancel
    assert last["execution_id"] == "dsl_1" and last["created_at_gte"] == try_1["detail"]["cancelled_at"][:19] + "Z"


def test_the_cancel_result_is_pushed_to_xcom_right_after_the_cancel_and_a_retry_can_pull_it(requests_mock):
    xcoms = {}  # no task_state_store (Airflow < 3.3): XCom is the only record
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, [{"status_code": 500, "json": {"code": 500, "message": "oops"}}, {"json": page()}])
    with pytest.raises(VendorAPIError):
        workflow_op(deferrable=False, retry_limit=1).execute(try_context(1, xcoms=xcoms))
    assert xcoms[CANCEL_RESULT_XCOM_KEY]["detail"]["execution_ids"] == ["dsl_1"]  # pushed before the wait
    out = workflow_op(deferrable=False, settle_seconds=0).execute(try_context(2, xcoms=xcoms))
    assert out["outcome"] == "cancelled" and out["detail"]["execution_ids"] == ["dsl_1"] and "final_status" in out


def test_retry_waits_on_the_union_of_earlier_and_new_runs_from_the_new_cancel(requests_mock):
    store = FakeTaskStateStore()
    requests_mock.post(
        WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": ["dsl_2", "dsl_1"]}}]
    )
    requests_mock.get(MESSAGES, json=page())
    with pytest.raises(TaskDeferred):
        workflow_op(deferrable=True).execute(try_context(1, store))
    with pytest.raises(TaskDeferred) as second:
        workflow_op(deferrable=True).execute(try_context(2, store))
    result = second.value.kwargs["result"]
    assert second.value.trigger.target["execution_ids"] == ["dsl_1", "dsl_2"]
    # dsl_2 was cancelled only now: its quiet window starts at this try's cancel.
    assert (
        second.value.trigger.target["since"]
        == result["detail"]["cancelled_at"]
        != result["detail"]["earlier_try"]["cancelled_at"]
    )
    assert store.data[CANCEL_STATE_KEY]["result"]["detail"]["execution_ids"] == [
        "dsl_1",
        "dsl_2",
    ]  # try 3 would wait on both


def test_retry_with_nothing_recorded_keeps_nothing_to_cancel(requests_mock):
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    assert workflow_op(deferrable=True).execute(try_context(2, FakeTaskStateStore()))["outcome"] == "nothing_to_cancel"
    assert workflow_op(deferrable=True).execute(try_context(2, xcoms={}))["outcome"] == "nothing_to_cancel"
    with pytest.raises(SuprSendNothingMatchedError):  # first try: fail_if_nothing_matched still fails
        workflow_op(fail_if_nothing_matched=True).execute(try_context(1, FakeTaskStateStore()))
    assert requests_mock.call_count == 3 and not [r for r in requests_mock.request_history if r.method == "GET"]


def test_a_cancel_recorded_before_a_clear_is_not_resumed(requests_mock):
    store = FakeTaskStateStore()
    requests_mock.post(WF_CANCEL, [{"json": {"execution_ids": ["dsl_1"]}}, {"json": {"execution_ids": []}}])
    requests_mock.get(MESSAGES, json=page())
    with pytest.raises(TaskDeferred):
        workflow_op(deferrable=True).execute(try_context(1, store))
    # Cleared after try 3 (max_tries = 3 + retries); try 5 is an automatic retry of that fresh start.
    out = workflow_op(deferrable=True).execute(try_context(5, store, max_tries=5))
    assert out["outcome"] == "nothing_to_cancel"


@pytest.mark.parametrize(
    "saved",
    [
        None,
        "x",
        {"result": {"vendor": "suprsend", "detail": {"execution_ids": []}}, "clear_generation": 0},
        {
            "result": {"vendor": "suprsend", "detail": {"execution_ids": ["d"], "cancelled_at": "?"}},
            "clear_generation": 0,
        },
    ],
)
def test_an_unusable_record_is_ignored(requests_mock, saved):
    store = FakeTaskStateStore()
    if saved is not None:
        store.data[CANCEL_STATE_KEY] = saved
    requests_mock.post(WF_CANCEL, json={"execution_ids": []})
    assert workflow_op().execute(try_context(2, store))["outcome"] == "nothing_to_cancel"


def test_broad_retry_waits_on_what_the_earlier_try_cancelled_without_resending(requests_mock):
    store = FakeTaskStateStore()
    requests_mock.post(WF_CANCEL, json={"execution_ids": ["dsl_1", "dsl_2"]})
    requests_mock.get(MESSAGES, json=page())
    broad = {"idempotency_key": None, "workflow_slug": "promo", "allow_broad_match": True, "deferrable": True}
    with pytest.raises(TaskDeferred) as first:
        workflow_op(**broad).execute(try_context(1, store))
    with pytest.raises(TaskDeferred) as second:
        workflow_op(**broad).execute(try_context(2, store))
    assert second.value.trigger.target == first.value.trigger.target
    assert second.value.kwargs["result"]["detail"]["resent"] is False
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "GET"]  # no second POST
    with pytest.raises(BroadCancelRetryRefused):  # nothing recorded: still refused
        workflow_op(**broad).execute(try_context(2, FakeTaskStateStore()))

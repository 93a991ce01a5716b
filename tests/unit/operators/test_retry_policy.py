"""The default task retry policy (Airflow 3.3+): its decision on the errors our tasks really raise."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta

import pytest
import requests
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG

from airflow_provider_cancel.exceptions import (
    AmbiguousWriteError,
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.operators.arsel import ArselCancelCampaignOperator
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.operators.policy import HAS_RETRY_POLICY, PermanentFailure
from airflow_provider_cancel.sensors.arsel import ArselCampaignStatusSensor
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor, CampaignStatusSensor
from airflow_provider_cancel.vendors import import_path, vendors
from tests.unit.support.arsel import CANCEL, GET, context, set_default_conn
from tests.unit.support.common import vendor_error_event

requires_retry_policy = pytest.mark.skipif(not HAS_RETRY_POLICY, reason="task retry policies arrived in Airflow 3.3")


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def failure(op, ctx=None) -> BaseException:
    """What ``op.execute`` raises: the exception Airflow's task runner hands the retry policy."""
    with pytest.raises(Exception) as err:
        op.execute(ctx or context())
    return err.value


def decide(op, exc: BaseException, try_number: int = 1):
    """The decision of ``op``'s retry policy, called as Airflow 3.3's task runner calls it."""
    return op.retry_policy.evaluate(exc, try_number=try_number, max_tries=op.retries + 1, context={"task": op})


def cancel_op(**kwargs) -> ArselCancelCampaignOperator:
    return ArselCancelCampaignOperator(task_id="cancel", campaign_id="c1", retries=2, **kwargs)


# ------------------------------------------------------------------ decisions, on real exceptions
@requires_retry_policy
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "bad_request", "message": "Invalid campaign"}),
        (401, {"error": "unauthorized", "message": "Invalid API key"}),
        (403, {"error": "forbidden", "message": "No access"}),
        (404, {"error": "not_found", "message": "No such campaign"}),
        (422, {"error": "unprocessable_entity", "message": "Bad channel"}),
    ],
)
def test_an_answer_no_retry_can_change_fails_at_once(requests_mock, status, body):
    from airflow.sdk import RetryAction

    requests_mock.post(CANCEL, status_code=status, json=body)
    requests_mock.get(GET, status_code=status, json=body)  # a 400 on cancel is followed by a status read
    op = cancel_op()
    exc = failure(op)
    # The operator fails these itself (AirflowFailException: Airflow never asks a retry policy) ...
    assert isinstance(exc, PermanentFailure) and isinstance(exc.error, VendorAPIError)
    assert exc.error.status_code == status
    # ... and the policy makes the same decision, wrapped or not (as in a @task calling the hook).
    for raised in (exc, exc.error):
        decision = decide(op, raised)
        assert decision.action is RetryAction.FAIL and decision.retry_delay is None
        assert decision.reason.startswith(f"arsel HTTP {status}")


@requires_retry_policy
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_transient_answer_is_retried_after_the_vendors_retry_after(requests_mock, status):
    from airflow.sdk import RetryAction

    requests_mock.post(CANCEL, status_code=status, json={"message": "busy"}, headers={"Retry-After": "7"})
    op = cancel_op(retry_limit=1)  # one HTTP attempt: the hook's own retries are tested in tests/unit/hooks
    exc = failure(op)
    assert type(exc) is VendorAPIError and (exc.status_code, exc.retry_after) == (status, 7.0)
    decision = decide(op, exc)
    assert decision.action is RetryAction.RETRY and decision.retry_delay == timedelta(seconds=7)
    assert decision.reason == f"arsel HTTP {status}: retrying after 7s (the vendor's Retry-After)"


@requires_retry_policy
def test_without_retry_after_the_retry_waits_the_tasks_own_retry_delay(requests_mock):
    from airflow.sdk import RetryAction

    requests_mock.post(CANCEL, status_code=503, json={"message": "down"})
    op = cancel_op(retry_limit=1, retry_delay=timedelta(seconds=42))
    decision = decide(op, failure(op))
    assert decision.action is RetryAction.RETRY and decision.retry_delay is None  # None: the task's retry_delay


@requires_retry_policy
def test_no_response_at_all_is_retried_after_the_tasks_own_retry_delay(requests_mock):
    from airflow.sdk import RetryAction

    requests_mock.post(CANCEL, exc=requests.ConnectionError("refused"))
    op = cancel_op(retry_limit=1)
    exc = failure(op)
    assert type(exc) is VendorAPIError and exc.status_code is None
    decision = decide(op, exc)
    assert decision.action is RetryAction.RETRY and decision.retry_delay is None
    assert decision.reason.startswith("arsel no response")


@requires_retry_policy
def test_retry_after_is_capped_by_the_tasks_max_retry_delay(requests_mock):
    requests_mock.post(CANCEL, status_code=429, json={"message": "slow down"}, headers={"Retry-After": "3600"})
    op = cancel_op(retry_limit=1, max_retry_delay=timedelta(minutes=5))
    assert decide(op, failure(op)).retry_delay == timedelta(minutes=5)


@requires_retry_policy
def test_a_vendor_code_no_retry_can_fix_fails_at_once_even_as_a_429(requests_mock):
    from airflow.sdk import RetryAction

    body = {"error": "monthly_quota_exceeded", "message": "Monthly quota exceeded"}
    requests_mock.post(CANCEL, status_code=429, json=body, headers={"Retry-After": "5"})
    op = cancel_op(retry_limit=1)
    exc = failure(op)
    assert isinstance(exc, PermanentFailure) and exc.error.code == "monthly_quota_exceeded"
    assert decide(op, exc.error).action is RetryAction.FAIL  # the codes come from the failing task's hook
    assert op.retry_policy.evaluate(exc.error, 1, 3, context=None).action is RetryAction.RETRY  # no task, no codes


@requires_retry_policy
def test_bad_input_and_a_finished_campaign_fail_at_once(requests_mock):
    from airflow.sdk import RetryAction

    missing = failure(ArselCancelCampaignOperator(task_id="cancel", campaign_id=" ", retries=2))
    assert isinstance(missing, PermanentFailure) and isinstance(missing.error, InvalidTarget)

    requests_mock.post(
        CANCEL, status_code=400, json={"error": "bad_request", "message": "Campaign cannot be cancelled"}
    )
    requests_mock.get(GET, json={"id": "c1", "status": "sent"})
    op = cancel_op()
    finished = failure(op)
    assert isinstance(finished.error, CampaignFinishedError)

    for exc in (
        missing,
        missing.error,
        finished.error,
        ConnectionConfigError("the connection has no API key"),
        AmbiguousWriteError("purge-all got no answer"),
    ):
        decision = decide(op, exc)
        assert decision.action is RetryAction.FAIL, exc
        assert decision.reason == f"{type(exc.error if isinstance(exc, PermanentFailure) else exc).__name__}: " + (
            "not retried, repeating cannot change it"
        )


@requires_retry_policy
@pytest.mark.parametrize(
    "exc",
    [UnexpectedAnswerError("odd body"), RuntimeError("anything else"), VendorAPIError("arsel", 408, "timeout")],
)
def test_anything_else_gets_airflows_standard_retries(exc):
    from airflow.sdk import RetryAction

    decision = decide(cancel_op(), exc)
    assert decision.action is RetryAction.DEFAULT and decision.retry_delay is None


@requires_retry_policy
def test_a_trigger_error_event_is_decided_like_the_same_error_on_the_worker():
    from airflow.sdk import RetryAction

    op = cancel_op(wait_for_completion=True, deferrable=True)
    ctx = context()
    for status, action in ((401, RetryAction.FAIL), (503, RetryAction.RETRY)):
        with pytest.raises(Exception) as err:
            op.execute_complete(ctx, vendor_error_event("arsel", status, "x"), result={"outcome": "cancelled"})
        decision = decide(op, err.value)
        assert decision.action is action
        # This event carries no Retry-After: a retry after a failed poll waits the task's retry_delay.
        assert decision.retry_delay is None
    # One that does (the vendor said when to come back) is retried after it, as on the worker.
    event = {**vendor_error_event("arsel", 503, "x"), "retryable": True, "retry_after": 6}
    with pytest.raises(Exception) as err:
        op.execute_complete(ctx, event, result={"outcome": "cancelled"})
    decision = decide(op, err.value)
    assert decision.action is RetryAction.RETRY and decision.retry_delay.total_seconds() == 6


@requires_retry_policy
def test_a_sensors_transient_error_is_retried_after_retry_after(requests_mock):
    from airflow.sdk import RetryAction

    requests_mock.get(GET, status_code=503, json={"message": "down"}, headers={"Retry-After": "4"})
    sensor = ArselCampaignStatusSensor(
        task_id="wait", campaign_id="c1", channel="email", retry_limit=1, deferrable=False, retries=1
    )
    with pytest.raises(VendorAPIError) as err:
        sensor.poke(context())
    decision = sensor.retry_policy.evaluate(err.value, 1, 2, context={"task": sensor})
    assert decision.action is RetryAction.RETRY and decision.retry_delay == timedelta(seconds=4)


# ------------------------------------------------------------------ the default, and a user's policy winning
@requires_retry_policy
def test_every_operator_and_sensor_has_the_policy_by_default():
    from airflow_provider_cancel.operators.policy import CancelRetryPolicy

    assert isinstance(cancel_op().retry_policy, CancelRetryPolicy)
    assert isinstance(ArselCampaignStatusSensor(task_id="w", campaign_id="c1").retry_policy, CancelRetryPolicy)
    generic = CampaignStatusSensor(task_id="g", vendor="arsel", target={"campaign_id": "c1"})
    assert isinstance(generic.retry_policy, CancelRetryPolicy)
    for spec in vendors().values():  # every registered operator and sensor gets it from its base class
        for path in [*spec.operators, *filter(None, [spec.sensor])]:
            assert issubclass(import_path(path), (BaseCancelOperator, BaseCampaignStatusSensor)), path


@requires_retry_policy
def test_a_users_retry_policy_wins_given_directly_in_default_args_or_in_partial():
    from airflow.sdk import ExceptionRetryPolicy

    from airflow_provider_cancel.operators.policy import CancelRetryPolicy

    mine = ExceptionRetryPolicy(rules=[])
    assert cancel_op(retry_policy=mine).retry_policy is mine
    assert cancel_op(retry_policy=None).retry_policy is None  # None: no retry policy at all
    assert ArselCampaignStatusSensor(task_id="w", campaign_id="c1", retry_policy=mine).retry_policy is mine
    start = datetime(2026, 1, 1)
    with DAG("with_default_args", schedule=None, start_date=start, default_args={"retry_policy": mine}):
        assert cancel_op().retry_policy is mine
        assert ArselCampaignStatusSensor(task_id="w", campaign_id="c1").retry_policy is mine
    with DAG("mapped", schedule=None, start_date=start):
        default = ArselCancelCampaignOperator.partial(task_id="a").expand(campaign_id=["c1", "c2"])
        given = ArselCancelCampaignOperator.partial(task_id="b", retry_policy=mine).expand(campaign_id=["c1"])
    # A mapped task is built when it runs (unmapped): the default applies then, unless partial() gave one.
    assert isinstance(default.unmap({"campaign_id": "c1"}).retry_policy, CancelRetryPolicy)
    assert given.unmap({"campaign_id": "c1"}).retry_policy is mine


@pytest.mark.skipif(HAS_RETRY_POLICY, reason="Airflow 3.3+ has task retry policies")
def test_before_airflow_3_3_no_policy_is_passed_and_a_users_is_refused_by_airflow():
    op = cancel_op()  # would be a TypeError if the default were passed on
    assert getattr(op, "retry_policy", None) is None
    assert getattr(cancel_op(retry_policy=None), "retry_policy", None) is None
    assert getattr(ArselCampaignStatusSensor(task_id="w", campaign_id="c1"), "retry_policy", None) is None
    with pytest.raises(TypeError, match="retry_policy"):
        cancel_op(retry_policy=object())


def test_the_default_is_documented_on_both_base_classes():
    for cls in (BaseCancelOperator, BaseCampaignStatusSensor):
        assert ":param retry_policy:" in (cls.__doc__ or "")
        assert "retry_policy" in inspect.signature(cls.__init__).parameters


def test_a_failure_the_operator_raises_is_still_an_airflow_fail_exception():
    # The operators' own fail-fast works on every Airflow line, with or without a retry policy.
    assert issubclass(PermanentFailure, AirflowFailException)

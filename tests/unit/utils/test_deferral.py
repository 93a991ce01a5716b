"""Reading the trigger's event back on the worker, and what the failure policy makes of it."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.operators.policy import task_failure_policy
from airflow_provider_cancel.status import CampaignState, CampaignStatus
from airflow_provider_cancel.utils.deferral import defer_until, status_from_event


def status(state: CampaignState) -> dict:
    return CampaignStatus("arsel", {"campaign_id": "c1"}, state, state.value).to_dict()


def test_success_event_returns_the_status():
    assert status_from_event(
        {"status": "success", "message": "ok", "campaign_status": status(CampaignState.CANCELLED)}
    ).is_cancelled


@pytest.mark.parametrize("event", [None, {}, {"status": "weird"}, "text"])
def test_malformed_events_are_retryable_errors(event):
    with pytest.raises(AirflowException) as err:
        status_from_event(event)
    assert not isinstance(err.value, AirflowFailException)


def test_a_finished_campaign_event_fails_without_retry():
    event = {"status": "error", "message": "it was sent", "campaign_status": status(CampaignState.COMPLETED)}
    with pytest.raises(AirflowFailException, match="CampaignFinishedError: it was sent") as err, task_failure_policy():
        status_from_event(event)
    assert isinstance(err.value.error, CampaignFinishedError)


@pytest.mark.parametrize(
    ("code", "fails_now"), [(401, True), (403, True), (404, True), (429, False), (503, False), (None, False)]
)
def test_vendor_error_events_fail_as_the_worker_path_would(code, fails_now):
    event = {
        "status": "error",
        "message": f"HTTP {code}",
        "campaign_status": None,
        "vendor": "arsel",
        "status_code": code,
    }
    with pytest.raises(Exception) as err, task_failure_policy():
        status_from_event(event)
    assert isinstance(err.value, AirflowFailException) is fails_now
    if not fails_now:
        assert isinstance(err.value, VendorAPIError)


class Deferring:
    def defer(self, **kwargs):
        self.deferred = kwargs


def test_defer_refuses_a_target_that_is_not_json_before_deferring():
    from airflow_provider_cancel.hooks.arsel import ArselHook

    task = Deferring()
    with pytest.raises(InvalidTarget, match="JSON values only"):
        defer_until(
            task,
            hook_class=ArselHook,
            conn_id="a",
            target={"since": object()},
            target_state="cancelled",
            poll_interval=5,
            timeout=60,
            retry_limit=3,
        )
    assert not hasattr(task, "deferred")
    defer_until(
        task,
        hook_class=ArselHook,
        conn_id="a",
        target={"campaign_id": "c1"},
        target_state="cancelled",
        poll_interval=5,
        timeout=60,
        retry_limit=3,
    )
    assert task.deferred["trigger"].retry_limit == 3


@pytest.mark.parametrize(
    ("poll_interval", "floor", "expected"),
    [(5, None, 10.0), (30, None, 30.0), (1, "0", 1.0), (2, "4", 4.0)],
)
def test_the_first_poll_waits_for_the_poll_interval_and_the_configured_floor(
    monkeypatch, poll_interval, floor, expected
):
    from airflow_provider_cancel.hooks.arsel import ArselHook

    if floor is not None:
        monkeypatch.setenv("AIRFLOW__CANCEL_PROVIDER__MIN_FIRST_POLL_DELAY", floor)
    task = Deferring()
    defer_until(
        task,
        hook_class=ArselHook,
        conn_id="a",
        target={"campaign_id": "c1"},
        target_state="cancelled",
        poll_interval=poll_interval,
        timeout=60,
        retry_limit=3,
    )
    assert task.deferred["trigger"].first_poll_delay == expected


def test_a_vendor_error_event_keeps_the_vendors_retry_after():
    event = {"status": "error", "message": "HTTP 429", "vendor": "arsel", "status_code": 429, "retry_after": 7}
    with pytest.raises(VendorAPIError) as err:
        status_from_event(event)
    assert (err.value.status_code, err.value.retry_after) == (429, 7.0)

"""CampaignStatusTrigger: serialisation and every run() path, with the status read patched."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.exceptions import VendorAPIError
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.status import CampaignState, CampaignStatus
from airflow_provider_cancel.triggers.campaign_status import CampaignStatusTrigger

HOOK = "airflow_provider_cancel.hooks.arsel.ArselHook"
TARGET = {"campaign_id": "c1", "channel": "email"}


def make(**kw):
    kw.setdefault("first_poll_delay", 0)
    return CampaignStatusTrigger(hook_class=HOOK, conn_id="arsel_default", target=TARGET, poll_interval=10, **kw)


def st(state: CampaignState, raw: str | None = None) -> CampaignStatus:
    return CampaignStatus("arsel", TARGET, state, raw or state.value)


@pytest.fixture
def script(monkeypatch):
    """Make ArselHook.aget_status answer from a list (statuses or exceptions); record sleeps."""
    sleeps: list[float] = []
    calls: list[dict] = []

    async def fake_sleep(s):
        sleeps.append(s)

    monkeypatch.setattr("airflow_provider_cancel.triggers.campaign_status.asyncio.sleep", fake_sleep)

    def _script(*answers):
        it = iter(answers)

        async def aget_status(self, **target):
            calls.append(target)
            answer = next(it)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        monkeypatch.setattr(ArselHook, "aget_status", aget_status)
        return sleeps, calls

    return _script


async def first_event(trigger):
    gen = trigger.run()
    event = await gen.__anext__()
    with pytest.raises(StopAsyncIteration):  # one event, then return
        await gen.__anext__()
    return event.payload


def test_serialize_round_trip_has_only_primitives_and_no_secret():
    trigger = make(target_state="terminal", max_consecutive_failures=3)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_cancel.triggers.campaign_status.CampaignStatusTrigger"
    assert CampaignStatusTrigger(**kwargs).serialize() == (path, kwargs)
    import json

    json.dumps(kwargs)  # primitives only
    assert set(kwargs) == {
        "hook_class",
        "conn_id",
        "target",
        "target_state",
        "poll_interval",
        "max_consecutive_failures",
        "retry_limit",
        "first_poll_delay",
    }


def test_the_hook_gets_the_deferring_tasks_retry_limit():
    assert make(retry_limit=7)._make_hook().retry_limit == 7
    assert make()._make_hook().retry_limit == 2  # triggers serialised before retry_limit existed


async def test_cancelled_at_once(script):
    sleeps, _ = script(st(CampaignState.CANCELLED, "Cancelled"))
    event = await first_event(make())
    assert event["status"] == "success" and event["campaign_status"]["raw_status"] == "Cancelled"
    assert sleeps == []


async def test_the_first_poll_waits_because_the_task_polled_just_before_deferring(script):
    sleeps, calls = script(st(CampaignState.CANCELLED))
    assert (await first_event(make(first_poll_delay=12)))["status"] == "success"
    assert sleeps == [12.0] and calls == [TARGET]


async def test_triggers_serialised_without_a_first_poll_delay_wait_one_poll_interval(script):
    sleeps, _ = script(st(CampaignState.CANCELLED))
    kwargs = make().serialize()[1]
    del kwargs["first_poll_delay"]
    assert (await first_event(CampaignStatusTrigger(**kwargs)))["status"] == "success"
    assert sleeps == [10.0]


async def test_after_n_polls_sleeping_each_time(script):
    sleeps, calls = script(st(CampaignState.SCHEDULED), st(CampaignState.ACTIVE), st(CampaignState.CANCELLED))
    event = await first_event(make())
    assert event["status"] == "success"
    assert sleeps == [10.0, 10.0] and calls == [TARGET] * 3


async def test_sent_while_waiting_for_cancelled_is_an_error_event(script):
    script(st(CampaignState.ACTIVE), st(CampaignState.COMPLETED, "sent"))
    event = await first_event(make())
    assert event["status"] == "error" and "ended without being cancelled" in event["message"]
    assert event["campaign_status"]["raw_status"] == "sent"


async def test_terminal_target_accepts_sent(script):
    script(st(CampaignState.COMPLETED, "sent"))
    assert (await first_event(make(target_state="terminal")))["status"] == "success"


async def test_unknown_status_keeps_polling(script):
    sleeps, _ = script(
        st(CampaignState.UNKNOWN, "weird"), st(CampaignState.UNKNOWN, "weird"), st(CampaignState.CANCELLED)
    )
    assert (await first_event(make()))["status"] == "success"
    assert len(sleeps) == 2


async def test_transient_errors_back_off_and_reset(script):
    e503 = VendorAPIError("arsel", 503, "down")
    sleeps, _ = script(e503, e503, st(CampaignState.ACTIVE), e503, st(CampaignState.CANCELLED))
    assert (await first_event(make(max_consecutive_failures=3)))["status"] == "success"
    assert len(sleeps) == 4  # every non-final outcome sleeps: no hot loop


@pytest.mark.parametrize(("retry_after", "wait"), [(None, 10), (3.0, 10), (45.0, 45.0), (86400.0, 900.0)])
async def test_a_failed_poll_waits_what_the_vendor_asked_within_bounds(script, retry_after, wait):
    limited = VendorAPIError("arsel", 429, "Too many requests", retry_after=retry_after)
    sleeps, _ = script(limited, st(CampaignState.CANCELLED))
    assert (await first_event(make()))["status"] == "success"
    assert sleeps == [wait]  # never sooner than poll_interval (10), never parked for hours


async def test_consecutive_failure_cap_ends_with_error(script):
    drop = VendorAPIError("arsel", None, "ServerDisconnectedError")
    sleeps, calls = script(drop, drop, drop)
    event = await first_event(make(max_consecutive_failures=3))
    assert event["status"] == "error" and "3 failed polls" in event["message"]
    assert len(calls) == 3 and len(sleeps) == 2


async def test_fatal_client_error_stops_at_once(script):
    script(VendorAPIError("arsel", 401, "Invalid or missing API key"))
    event = await first_event(make())
    assert event["status"] == "error" and "401" in event["message"]
    # The event keeps the status so the resumed task fails as it would on the worker (no retry, no re-cancel).
    assert event["status_code"] == 401 and event["retryable"] is False and event["vendor"] == "arsel"


async def test_gave_up_event_says_a_retry_may_help(script):
    e503 = VendorAPIError("arsel", 503, "down", retry_after=9.0)
    script(e503, e503)
    event = await first_event(make(max_consecutive_failures=2))
    assert event["status_code"] == 503 and event["retryable"] is True
    assert event["retry_after"] == 9.0  # the resumed task's retry waits what the vendor asked


async def test_refuses_a_hook_class_that_is_not_a_vendor_hook():
    trigger = CampaignStatusTrigger(hook_class="builtins.dict", conn_id="x", target={})
    event = await first_event(trigger)
    assert event["status"] == "error" and "not a CampaignVendorHook" in event["message"]

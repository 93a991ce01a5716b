"""LoopCommsCampaignStatusSensor against requests-mock: the cancel's facts, history alone, the refusal hint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.sensors.loop_comms import LoopCommsCampaignStatusSensor
from tests.unit.support.common import poke_vendor_error, vendor_error_event
from tests.unit.support.loop_comms import HISTORY, TOKEN, context, iso, send, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_sensor_with_facts_waits_for_running_sends(requests_mock):
    requests_mock.get(HISTORY, [{"json": {"sends": [send("sending")]}}, {"json": {"sends": [send("sending", True)]}}])
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", cancel_status="Cancelled", cancelled_at=iso())
    assert sensor.poke(context()).is_done is False
    done = sensor.poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_sensor_treats_rendered_none_as_no_facts(requests_mock):
    requests_mock.get(HISTORY, json={"sends": []})
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", cancel_status="None", cancelled_at="")
    assert sensor.status_target() == {"campaign_id": "c1", "cancel_status": None, "cancelled_at": None}
    assert sensor.poke(context()).is_done is False  # no sends and no facts: cannot know, keeps waiting


def test_sensor_without_facts_fails_at_once_on_a_sent_campaign(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("completed", True)]})
    with pytest.raises(AirflowFailException, match="ended without being cancelled") as err:
        LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1").poke(context())
    assert isinstance(err.value.error, CampaignFinishedError)
    assert LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", target_state="terminal").poke(context()).is_done


def test_sensor_refuses_a_missing_campaign_id_before_any_http(requests_mock):
    with pytest.raises(AirflowFailException) as err:
        LoopCommsCampaignStatusSensor(task_id="s", campaign_id="").poke(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_sensor_deferrable_pokes_once_then_defers(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    sensor = LoopCommsCampaignStatusSensor(
        task_id="s", campaign_id="c1", cancel_status="cancelled", deferrable=True, timeout=120, poke_interval=4
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert requests_mock.call_count == 1 and exc.value.timeout == timedelta(seconds=120)
    assert exc.value.trigger.target == {"campaign_id": "c1", "cancel_status": "cancelled", "cancelled_at": None}
    assert set(LoopCommsCampaignStatusSensor.template_fields) == {
        "campaign_id",
        "cancel_status",
        "cancelled_at",
        "refusal_hint",
        "loop_comms_conn_id",
    }


def test_sensor_refusal_hint_only_breaks_the_tie_of_an_empty_history(requests_mock):
    sensor = LoopCommsCampaignStatusSensor(
        task_id="s", campaign_id="c1", cancel_status="None", refusal_hint="cancelled"
    )
    assert sensor.status_target() == {
        "campaign_id": "c1",
        "cancel_status": None,
        "cancelled_at": None,
        "refusal_hint": "cancelled",
    }
    requests_mock.get(HISTORY, json={"sends": []})
    assert sensor.poke(context()).is_done
    requests_mock.get(HISTORY, json={"sends": [send("completed", True)]})
    with pytest.raises(AirflowFailException, match="ended without being cancelled") as err:
        sensor.poke(context())
    assert isinstance(err.value.error, CampaignFinishedError)
    none = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", refusal_hint="None")
    assert "refusal_hint" not in none.status_target()


# ------------------------------------------------------------------ new in the one-vendor-model refactor
def test_sensor_conn_id_is_templated_and_used(requests_mock, set_conn):
    assert "loop_comms_conn_id" in LoopCommsCampaignStatusSensor.template_fields
    set_conn("loop_eu", "loop_comms", "https://eu.loop.test", password=TOKEN)
    requests_mock.get("https://eu.loop.test/v1/admin/campaigns/c1/history", json={"sends": [send("cancelled", True)]})
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", loop_comms_conn_id="{{ params.conn }}")
    sensor.render_template_fields(context={"params": {"conn": "loop_eu"}})
    assert sensor.resolved_conn_id == "loop_eu" and sensor.hook.conn_id == "loop_eu"
    assert sensor.poke(context()).is_done and requests_mock.call_count == 1


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"cancel_status": " cancelled ", "cancelled_at": "2026-01-01T00:00:00Z"},
            {"cancel_status": "cancelled", "cancelled_at": "2026-01-01T00:00:00Z"},
        ),
        (
            {"cancel_status": "null", "cancelled_at": "None", "refusal_hint": ""},
            {"cancel_status": None, "cancelled_at": None},
        ),
        (
            {"cancel_status": None, "cancelled_at": "  ", "refusal_hint": "NULL"},
            {"cancel_status": None, "cancelled_at": None},
        ),
        ({"refusal_hint": " cancelled "}, {"cancel_status": None, "cancelled_at": None, "refusal_hint": "cancelled"}),
    ],
)
def test_sensor_status_target_reads_rendered_values(kwargs, expected):
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id=" c1 ", **kwargs)
    assert sensor.status_target() == {"campaign_id": "c1", **expected}


@pytest.mark.parametrize(("status", "fails_now"), [(401, True), (403, True), (404, True), (500, False)])
def test_sensor_vendor_errors_fail_now_only_when_a_retry_cannot_help(requests_mock, no_sleep, status, fails_now):
    requests_mock.get(HISTORY, status_code=status, json={"error": "e", "message": "m"})
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", retry_limit=1)
    raised = poke_vendor_error(sensor, context(), status, fails_now)
    assert TOKEN not in str(raised)


def test_sensor_deferral_carries_the_hint_and_the_retry_limit(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("sending")]})
    sensor = LoopCommsCampaignStatusSensor(
        task_id="s", campaign_id="c1", refusal_hint="cancelled", deferrable=True, retry_limit=2
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    trigger = exc.value.trigger
    assert trigger.target == {
        "campaign_id": "c1",
        "cancel_status": None,
        "cancelled_at": None,
        "refusal_hint": "cancelled",
    }
    assert trigger.retry_limit == 2 and trigger.conn_id == "loop_comms_default"


def test_sensor_deferrable_returns_at_once_when_already_cancelled(requests_mock):
    requests_mock.get(HISTORY, json={"sends": [send("cancelled", True)]})
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1", deferrable=True)
    assert sensor.execute(context())["state"] == "cancelled" and requests_mock.call_count == 1


def test_sensor_execute_complete_fails_now_on_a_vendor_4xx_seen_while_deferred():
    sensor = LoopCommsCampaignStatusSensor(task_id="s", campaign_id="c1")
    event = vendor_error_event("loop_comms", 401, "unauthorized")
    with pytest.raises(AirflowFailException, match="Stopped waiting: 401") as err:
        sensor.execute_complete(context(), event)
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 401

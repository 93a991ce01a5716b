"""ArselCampaignStatusSensor against requests-mock: poke, failure policy, deferral."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget
from airflow_provider_cancel.sensors.arsel import ArselCampaignStatusSensor
from tests.unit.support.arsel import BASE, GET, context, set_default_conn
from tests.unit.support.common import poke_vendor_error


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_sensor_poke_waits_then_succeeds(requests_mock):
    requests_mock.get(GET, [{"json": {"status": "sending"}}, {"json": {"status": "Cancelled"}}])
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1")
    assert sensor.poke(context()).is_done is False
    done = sensor.poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_sensor_fails_at_once_when_campaign_was_sent(requests_mock):
    requests_mock.get(GET, json={"status": "sent"})
    with pytest.raises(AirflowFailException, match="ended without being cancelled") as err:
        ArselCampaignStatusSensor(task_id="s", campaign_id="c1").poke(context())
    assert isinstance(err.value.error, CampaignFinishedError)


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


# ------------------------------------------------------------------ new in the one-vendor-model refactor
def test_sensor_conn_id_is_templated_and_used(requests_mock, set_conn):
    assert "arsel_conn_id" in ArselCampaignStatusSensor.template_fields
    set_conn("arsel_sms", "arsel", "https://sms.arsel.test/v1", default_channel="sms")
    requests_mock.get("https://sms.arsel.test/v1/sms/campaigns/c1", json={"status": "cancelled"})
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1", arsel_conn_id="arsel_sms")
    assert sensor.resolved_conn_id == "arsel_sms" and sensor.hook.conn_id == "arsel_sms"
    assert sensor.status_target() == {"campaign_id": "c1", "channel": "sms"}  # the connection's default channel
    assert sensor.poke(context()).xcom_value["target"] == {"campaign_id": "c1", "channel": "sms"}


@pytest.mark.parametrize(
    ("campaign_id", "channel", "fields"),
    [("", None, ["campaign_id"]), ("c1", "fax", ["channel"]), (None, "fax", ["campaign_id", "channel"])],
)
def test_sensor_bad_target_fails_without_retry_before_any_http(requests_mock, campaign_id, channel, fields):
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id=campaign_id, channel=channel)
    with pytest.raises(AirflowFailException, match="^InvalidTarget: ") as err:
        sensor.poke(context())
    assert isinstance(err.value.error, InvalidTarget) and err.value.error.fields == fields
    assert not requests_mock.called


@pytest.mark.parametrize(("status", "fails_now"), [(401, True), (404, True), (429, False), (503, False)])
def test_sensor_vendor_errors_fail_now_only_when_a_retry_cannot_help(requests_mock, no_sleep, status, fails_now):
    requests_mock.get(GET, status_code=status, json={"name": "x", "message": "m"})
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1", retry_limit=1)
    poke_vendor_error(sensor, context(), status, fails_now)


def test_sensor_deferral_carries_the_resolved_channel_and_retry_limit(requests_mock):
    requests_mock.get(f"{BASE}/sms/campaigns/c1", json={"status": "sending"})
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1", channel="SMS", deferrable=True, retry_limit=2)
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert exc.value.trigger.target == {"campaign_id": "c1", "channel": "sms"}
    assert exc.value.trigger.retry_limit == 2 and exc.value.trigger.conn_id == "arsel_default"


def test_sensor_execute_complete_fails_now_on_a_finished_campaign():
    sensor = ArselCampaignStatusSensor(task_id="s", campaign_id="c1")
    sent = {"vendor": "arsel", "target": {}, "state": "completed", "raw_status": "sent", "detail": "", "extra": {}}
    with pytest.raises(AirflowFailException, match="ended") as err:
        sensor.execute_complete(context(), {"status": "error", "message": "ended", "campaign_status": sent})
    assert isinstance(err.value.error, CampaignFinishedError)
    done = dict(sent, state="cancelled", raw_status="cancelled")
    assert sensor.execute_complete(context(), {"status": "success", "message": "ok", "campaign_status": done}) == done

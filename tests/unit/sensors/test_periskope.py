"""PeriskopeBroadcastStatusSensor against requests-mock."""

from __future__ import annotations

from datetime import timedelta

import jinja2
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget, VendorAPIError
from airflow_provider_cancel.sensors.periskope import PeriskopeBroadcastStatusSensor
from tests.unit.support.periskope import BID, KEY, PHONE, STATUS, context, set_default_conn, status_body


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_sensor_waits_through_null_and_inprogress_then_succeeds_on_stopped(requests_mock):
    requests_mock.get(STATUS, [{"json": status_body(raw)} for raw in (None, "inprogress", "STOPPED")])
    sensor = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID)
    assert [sensor.poke(context()).is_done for _ in range(3)] == [False, False, True]


def test_sensor_keeps_waiting_on_an_unknown_status(requests_mock):
    requests_mock.get(STATUS, json=status_body("warp-speed"))
    done = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, target_state="terminal").poke(context())
    assert done.is_done is False and done.xcom_value is None


@pytest.mark.parametrize("cancel_status", ["deleted", "Deleted"])
def test_sensor_404_after_deleted_is_done(requests_mock, cancel_status):
    requests_mock.get(STATUS, status_code=404, json={})
    done = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, cancel_status=cancel_status).poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


@pytest.mark.parametrize("cancel_status", [None, "None", "", "stopped"])
def test_sensor_404_without_our_delete_fails_without_retries(requests_mock, cancel_status):
    requests_mock.get(STATUS, status_code=404, json={})
    sensor = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, cancel_status=cancel_status)
    with pytest.raises(AirflowFailException, match="not found") as err:
        sensor.poke(context())
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 404


@pytest.mark.parametrize("raw", ["completed", "expired"])
def test_sensor_fails_at_once_when_it_ended_another_way(requests_mock, raw):
    requests_mock.get(STATUS, json=status_body(raw))
    with pytest.raises(AirflowFailException, match=raw) as err:
        PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID).poke(context())
    assert isinstance(err.value.error, CampaignFinishedError)
    terminal = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, target_state="terminal")
    assert terminal.poke(context()).is_done


def test_sensor_5xx_stays_retryable(requests_mock, no_sleep):
    requests_mock.get(STATUS, status_code=503, json={})
    with pytest.raises(VendorAPIError) as err:
        PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, retry_limit=2).poke(context())
    assert not isinstance(err.value, AirflowFailException) and requests_mock.call_count == 2


@pytest.mark.parametrize("bad", [None, "", "  "])
def test_sensor_refuses_a_missing_broadcast_id_without_http(requests_mock, bad):
    with pytest.raises(AirflowFailException, match="broadcast_id is required") as err:
        PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=bad).poke(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_sensor_deferrable_pokes_once_then_defers_with_cancel_status(requests_mock):
    requests_mock.get(STATUS, json=status_body("inprogress"))
    sensor = PeriskopeBroadcastStatusSensor(
        task_id="s", broadcast_id=BID, cancel_status="deleted", deferrable=True, timeout=90, poke_interval=3
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert exc.value.trigger.target == {"broadcast_id": BID, "cancel_status": "deleted"}
    assert exc.value.timeout == timedelta(seconds=90) and requests_mock.call_count == 1


def test_sensor_template_fields():
    assert set(PeriskopeBroadcastStatusSensor.template_fields) == {"broadcast_id", "cancel_status", "periskope_conn_id"}


def test_periskope_conn_id_is_templated_and_is_the_connection_the_hook_uses(set_conn, requests_mock):
    set_conn("pk_eu", "periskope", "https://eu.periskope.test/v1", password=KEY, phone=PHONE)
    requests_mock.get(f"https://eu.periskope.test/v1/queue/broadcast?broadcast_id={BID}", json=status_body("stopped"))
    sensor = PeriskopeBroadcastStatusSensor(task_id="s", broadcast_id=BID, periskope_conn_id="{{ params.conn }}")
    sensor.render_template_fields({"params": {"conn": "pk_eu"}}, jinja_env=jinja2.Environment())
    assert sensor.resolved_conn_id == sensor.hook.conn_id == "pk_eu"
    assert sensor.poke(context()).is_done and requests_mock.call_count == 1

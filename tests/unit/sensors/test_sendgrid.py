"""The generic CampaignStatusSensor with SendGrid targets: a batch's hold, a Single Send's status."""

from __future__ import annotations

import time

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.sendgrid import HOLD, SINGLE, context, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_a_batch_waits_until_the_cancel_is_held(requests_mock):
    requests_mock.get(HOLD, [{"json": []}, {"json": [{"batch_id": "b1", "status": "cancel"}]}])
    sensor = CampaignStatusSensor(task_id="s", vendor="sendgrid", target={"batch_id": "b1"})
    assert sensor.poke(context()).is_done is False
    assert sensor.poke(context()).is_done


def test_a_batch_past_its_send_time_without_a_hold_fails(requests_mock):
    requests_mock.get(HOLD, json=[])
    sensor = CampaignStatusSensor(
        task_id="s", vendor="sendgrid", target={"batch_id": "b1", "send_at": int(time.time()) - 5}
    )
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor.poke(context())


def test_a_triggered_single_send_fails(requests_mock):
    requests_mock.get(SINGLE, json={"status": "triggered"})
    sensor = CampaignStatusSensor(task_id="s", vendor="sendgrid", target={"single_send_id": "ss1"})
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor.poke(context())


def test_a_target_with_neither_id_is_refused_before_any_http(requests_mock):
    sensor = CampaignStatusSensor(task_id="s", vendor="sendgrid", target={"send_at": 5})
    with pytest.raises(AirflowFailException, match="target is missing batch_id") as err:
        sensor.poke(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called

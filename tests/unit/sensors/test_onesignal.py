"""The generic CampaignStatusSensor with a OneSignal notification target."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.onesignal import NID, URL, context, notification, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def sensor(**kwargs):
    return CampaignStatusSensor(task_id="s", vendor="onesignal", **{"target": {"notification_id": NID}, **kwargs})


def test_waits_while_sending_then_succeeds(requests_mock):
    requests_mock.get(URL, [{"json": notification()}, {"json": notification(canceled=True)}])
    assert sensor().poke(context()).is_done is False
    assert sensor().poke(context()).xcom_value["state"] == "cancelled"


def test_a_completed_notification_fails_at_once_or_is_terminal(requests_mock):
    requests_mock.get(URL, json=notification(completed_ago=5, remaining=0))
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor().poke(context())
    assert sensor(target_state="terminal").poke(context()).is_done


@pytest.mark.parametrize(
    ("target", "field"), [({}, "target.notification_id"), ({"notification_id": "../x"}, "target.notification_id")]
)
def test_bad_targets_fail_before_any_http(requests_mock, target, field):
    with pytest.raises(AirflowFailException) as err:
        sensor(target=target).poke(context())
    assert isinstance(err.value.error, InvalidTarget) and field in err.value.error.fields
    assert not requests_mock.called

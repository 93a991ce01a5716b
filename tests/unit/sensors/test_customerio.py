"""The generic CampaignStatusSensor with a Customer.io trigger target."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.customerio import TRIGGER, context, read, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def sensor(**target):
    return CampaignStatusSensor(
        task_id="s", vendor="customerio", target={"broadcast_id": "3", "trigger_id": "12", **target}
    )


def test_waits_on_a_pending_trigger_then_succeeds_with_the_cancels_cancelled_at(requests_mock):
    requests_mock.get(TRIGGER, json=read())
    assert sensor().poke(context()).is_done is False
    done = sensor(cancelled_at="1796041200").poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_a_processed_trigger_fails_at_once(requests_mock):
    requests_mock.get(TRIGGER, json=read(processed_ago=30))
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor(cancelled_at=1796041200).poke(context())
    assert (
        CampaignStatusSensor(
            task_id="s", vendor="customerio", target={"broadcast_id": "3", "trigger_id": "12"}, target_state="terminal"
        )
        .poke(context())
        .is_done
    )


@pytest.mark.parametrize(
    ("target", "field"), [({"trigger_id": "../x"}, "target.trigger_id"), ({"typo": 1}, "target.typo")]
)
def test_bad_targets_fail_before_any_http(requests_mock, target, field):
    with pytest.raises(AirflowFailException) as err:
        sensor(**target).poke(context())
    assert isinstance(err.value.error, InvalidTarget) and field in err.value.error.fields
    assert not requests_mock.called


def test_defers_with_the_target(requests_mock):
    requests_mock.get(TRIGGER, json=read())
    with pytest.raises(TaskDeferred) as exc:
        CampaignStatusSensor(
            task_id="s", vendor="customerio", target={"broadcast_id": "3", "trigger_id": "12"}, deferrable=True
        ).execute(context())
    assert exc.value.trigger.target == {"broadcast_id": "3", "trigger_id": "12"}

"""The generic CampaignStatusSensor with Resend broadcast and email targets."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.resend import BID, BROADCAST, EID, EMAIL, broadcast, context, email, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def sensor(**target):
    return CampaignStatusSensor(task_id="s", vendor="resend", target=target)


def test_a_draft_is_cancelled_only_when_the_target_says_so(requests_mock):
    requests_mock.get(BROADCAST, json=broadcast("draft"))
    assert sensor(broadcast_id=BID).poke(context()).is_done is False
    assert sensor(broadcast_id=BID, draft_means_cancelled=True).poke(context()).is_done


def test_a_sent_broadcast_or_delivered_email_fails_at_once(requests_mock):
    requests_mock.get(BROADCAST, json=broadcast("sent"))
    requests_mock.get(EMAIL, json=email("delivered"))
    for target in ({"broadcast_id": BID, "draft_means_cancelled": True}, {"email_id": EID}):
        with pytest.raises(AirflowFailException, match="ended without being cancelled"):
            sensor(**target).poke(context())


@pytest.mark.parametrize(
    ("target", "field"),
    [({}, "target"), ({"broadcast_id": BID, "email_id": EID}, "target"), ({"email_id": "x/y"}, "target.email_id")],
)
def test_a_target_naming_no_or_two_objects_fails_before_any_http(requests_mock, target, field):
    with pytest.raises(AirflowFailException) as err:
        sensor(**target).poke(context())
    assert isinstance(err.value.error, InvalidTarget) and field in err.value.error.fields
    assert not requests_mock.called

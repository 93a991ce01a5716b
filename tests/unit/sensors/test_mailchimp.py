"""The generic CampaignStatusSensor with a Mailchimp target: canceling keeps it waiting, sent fails it."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.hooks.mailchimp import MailchimpHook
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.mailchimp import CAMPAIGN, context, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def sensor(**kwargs):
    return CampaignStatusSensor(task_id="s", vendor="mailchimp", target={"campaign_id": "c1"}, **kwargs)


def test_canceling_waits_then_canceled_succeeds(requests_mock):
    requests_mock.get(CAMPAIGN, [{"json": {"status": "canceling"}}, {"json": {"status": "Canceled"}}])
    s = sensor()
    assert s.vendor_hook_class is MailchimpHook
    assert s.poke(context()).is_done is False
    assert s.poke(context()).xcom_value["state"] == "cancelled"


def test_sent_fails_at_once_and_terminal_accepts_it(requests_mock):
    requests_mock.get(CAMPAIGN, json={"status": "sent"})
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor().poke(context())
    assert sensor(target_state="terminal").poke(context()).is_done


def test_an_unknown_word_keeps_waiting(requests_mock):
    requests_mock.get(CAMPAIGN, json={"status": "halted"})
    assert sensor().poke(context()).is_done is False


def test_defers(requests_mock):
    requests_mock.get(CAMPAIGN, json={"status": "sending"})
    with pytest.raises(TaskDeferred) as deferred:
        sensor(deferrable=True, timeout=60).execute(context())
    assert deferred.value.trigger.target == {"campaign_id": "c1"}

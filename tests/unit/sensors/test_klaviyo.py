"""The generic CampaignStatusSensor with a Klaviyo target: both readings, the failure policy, deferral."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.hooks.klaviyo import KlaviyoHook
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.klaviyo import CAMPAIGN, JOB, campaign, context, job, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def sensor(**kwargs):
    return CampaignStatusSensor(task_id="s", vendor="klaviyo", target={"campaign_id": "c1"}, **kwargs)


def test_waits_while_the_job_drains_then_succeeds(requests_mock):
    requests_mock.get(JOB, [{"json": job("processing")}, {"json": job("cancelled")}])
    requests_mock.get(CAMPAIGN, json=campaign("Cancelled"))
    s = sensor()
    assert s.vendor_hook_class is KlaviyoHook and s.resolved_conn_id == "klaviyo_default"
    assert s.poke(context()).is_done is False
    assert s.poke(context()).is_done


def test_a_sent_campaign_fails_at_once_and_terminal_accepts_it(requests_mock):
    requests_mock.get(JOB, json=job("complete"))
    requests_mock.get(CAMPAIGN, json=campaign("Sent"))
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor().poke(context())
    assert sensor(target_state="terminal").poke(context()).is_done


def test_an_unknown_word_keeps_waiting(requests_mock):
    requests_mock.get(JOB, json=job("queued"))
    requests_mock.get(CAMPAIGN, json=campaign("Unknown"))
    assert sensor().poke(context()).is_done is False


def test_a_wrong_target_key_is_refused_before_any_http(requests_mock):
    s = CampaignStatusSensor(task_id="s", vendor="klaviyo", target={"campaign_id": "c1", "channel": "email"})
    with pytest.raises(AirflowFailException, match="target has no field 'channel'") as err:
        s.poke(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called


def test_defers_with_the_target(requests_mock):
    requests_mock.get(JOB, json=job("processing"))
    requests_mock.get(CAMPAIGN, json=campaign("Sending"))
    with pytest.raises(TaskDeferred) as deferred:
        sensor(deferrable=True, timeout=60).execute(context())
    assert deferred.value.trigger.target == {"campaign_id": "c1"}

"""The generic ``CampaignStatusSensor``: any registered vendor, its status target given as data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.sensors.base import CampaignStatusSensor
from tests.unit.support.arsel import BASE, GET, context, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


def test_reads_the_vendor_from_the_registry_and_the_target_from_rendered_json(requests_mock):
    requests_mock.get(GET, json={"id": "c1", "status": "Cancelled"})
    sensor = CampaignStatusSensor(task_id="s", vendor="arsel", target='{"campaign_id": "c1", "channel": "email"}')
    assert sensor.vendor_hook_class is ArselHook and sensor.resolved_conn_id == "arsel_default"
    assert sensor.poke(context()).is_done
    assert set(CampaignStatusSensor.template_fields) == {"target", "conn_id"}


def test_a_named_connection_is_used(requests_mock, set_conn):
    set_conn("arsel_eu", "arsel", BASE.replace("arsel.test", "eu.arsel.test"))
    eu = requests_mock.get(GET.replace("arsel.test", "eu.arsel.test"), json={"status": "sending"})
    sensor = CampaignStatusSensor(task_id="s", vendor="arsel", target={"campaign_id": "c1"}, conn_id="arsel_eu")
    assert not sensor.poke(context()).is_done and eu.called


def test_a_sent_campaign_fails_without_retry(requests_mock):
    requests_mock.get(GET, json={"status": "sent"})
    sensor = CampaignStatusSensor(task_id="s", vendor="arsel", target={"campaign_id": "c1", "channel": "email"})
    with pytest.raises(AirflowFailException, match="ended without being cancelled"):
        sensor.poke(context())


@pytest.mark.parametrize(("target", "match"), [("not json", "JSON object"), ("[1]", "must be an object")])
def test_a_target_that_is_not_an_object_is_refused_before_any_http(requests_mock, target, match):
    sensor = CampaignStatusSensor(task_id="s", vendor="arsel", target=target)
    with pytest.raises(AirflowFailException, match=match) as err:
        sensor.poke(context())
    assert isinstance(err.value.error, InvalidTarget) and not requests_mock.called


def test_defers_with_the_target_as_given(requests_mock):
    requests_mock.get(GET, json={"status": "sending"})
    sensor = CampaignStatusSensor(
        task_id="s", vendor="arsel", target={"campaign_id": "c1", "channel": "email"}, deferrable=True, timeout=60
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    assert deferred.value.trigger.target == {"campaign_id": "c1", "channel": "email"}
    assert deferred.value.timeout == timedelta(seconds=60)

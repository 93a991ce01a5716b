"""SuprSendExecutionStatusSensor against requests-mock: the settle check per poke, skipping, deferring."""

from __future__ import annotations

from datetime import timedelta

import jinja2
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException, TaskDeferred

from airflow_provider_cancel.exceptions import InvalidTarget, VendorAPIError
from airflow_provider_cancel.sensors.suprsend import SuprSendExecutionStatusSensor, parse_execution_ids
from airflow_provider_cancel.vendors.suprsend import floor_second
from tests.unit.support.suprsend import KEY, MESSAGES, ago, context, now, page, query, set_default_conn


@pytest.fixture(autouse=True)
def conn(set_conn):
    set_default_conn(set_conn)


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("dsl_1", ["dsl_1"]),
        ("['dsl_1', 'dsl_2']", ["dsl_1", "dsl_2"]),
        ('["b1"]', ["b1"]),
        (["a", "b"], ["a", "b"]),
        ("[]", []),
        (None, []),
    ],
)
def test_parse_execution_ids(value, ids):
    assert parse_execution_ids(value) == ids


@pytest.mark.parametrize("value", ["[not a list", "[1, {}]", {"a": 1}])
def test_parse_execution_ids_refuses_what_is_not_a_list_of_ids(value):
    with pytest.raises(InvalidTarget) as err:
        parse_execution_ids(value)
    assert err.value.fields == ["execution_ids"]


def test_sensor_waits_for_the_window_then_succeeds(requests_mock):
    requests_mock.get(MESSAGES, [{"json": page(ago(1))}, {"json": page(ago(100))}])
    sensor = SuprSendExecutionStatusSensor(task_id="s", execution_ids="dsl_1", since=ago(200), settle_seconds=30)
    assert sensor.poke(context()).is_done is False
    done = sensor.poke(context())
    assert done.is_done and done.xcom_value["state"] == "cancelled"


def test_sensor_since_defaults_to_the_dag_run_start(requests_mock):
    requests_mock.get(MESSAGES, json=page())
    start = now() - timedelta(minutes=5)
    sensor = SuprSendExecutionStatusSensor(task_id="s", execution_ids=["dsl_1"], settle_seconds=60)
    assert sensor.poke(context(run_start=start)).is_done
    assert query(requests_mock.last_request)["created_at_gte"] == floor_second(start)


def test_sensor_with_no_ids_skips_without_http(requests_mock):
    with pytest.raises(AirflowSkipException, match="nothing"):
        SuprSendExecutionStatusSensor(task_id="s", execution_ids="[]", since=ago(5)).poke(context())
    assert not requests_mock.called


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"since": "yesterday"}, "since must be an ISO 8601 time"),
        ({"since": None}, "since must be an ISO 8601 time"),
        ({"settle_seconds": "soon"}, "settle_seconds must be a number"),
        ({"execution_ids": "[1, {}]"}, "non-empty strings"),
    ],
)
def test_sensor_bad_arguments_fail_without_retries_or_http(requests_mock, kwargs, match):
    sensor = SuprSendExecutionStatusSensor(task_id="s", **{"execution_ids": ["dsl_1"], "since": ago(5), **kwargs})
    with pytest.raises(AirflowFailException, match=match) as err:
        sensor.poke(context())
    assert isinstance(err.value.error, InvalidTarget)
    assert not requests_mock.called


def test_sensor_401_fails_without_retries(requests_mock):
    requests_mock.get(MESSAGES, status_code=401, json={"code": 401, "message": "invalid api key"})
    sensor = SuprSendExecutionStatusSensor(task_id="s", execution_ids=["dsl_1"], since=ago(5))
    with pytest.raises(AirflowFailException, match="invalid api key") as err:
        sensor.poke(context())
    assert isinstance(err.value.error, VendorAPIError) and err.value.error.status_code == 401


def test_sensor_deferrable_pokes_once_then_defers(requests_mock):
    requests_mock.get(MESSAGES, json=page())
    since = ago(1)
    sensor = SuprSendExecutionStatusSensor(
        task_id="s",
        execution_ids="['b1']",
        since=since,
        settle_seconds="20",
        deferrable=True,
        timeout=120,
        poke_interval=3,
    )
    with pytest.raises(TaskDeferred) as exc:
        sensor.execute(context())
    assert exc.value.trigger.target == {"execution_ids": ["b1"], "since": since, "settle_seconds": 20.0}
    assert exc.value.timeout == timedelta(seconds=120) and requests_mock.call_count == 1


def test_suprsend_conn_id_is_templated_and_is_the_connection_the_hook_uses(set_conn, requests_mock):
    assert "suprsend_conn_id" in SuprSendExecutionStatusSensor.template_fields
    set_conn("suprsend_eu", "suprsend", "https://eu.suprsend.test", password=KEY)
    requests_mock.get("https://eu.suprsend.test/v1/message/", json=page())
    sensor = SuprSendExecutionStatusSensor(
        task_id="s", execution_ids=["dsl_1"], since=ago(120), settle_seconds=1, suprsend_conn_id="{{ params.conn }}"
    )
    sensor.render_template_fields({"params": {"conn": "suprsend_eu"}}, jinja_env=jinja2.Environment())
    assert sensor.resolved_conn_id == sensor.hook.conn_id == "suprsend_eu"
    assert sensor.poke(context()).is_done and requests_mock.call_count == 1

"""
Kill switch for a scheduled Customer.io broadcast: cancel its trigger before it fires.

Trigger it by hand with the ids you got back when the send was scheduled, for example::

    airflow dags trigger customerio_cancel_broadcast_trigger -c '{"broadcast_id": "3", "trigger_id": "12"}'

Cancelling one trigger is harmless to repeat, so a retry sends the same request again (and reads
``already_cancelled``). The wait is deferred to the triggerer, which only reads the trigger.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.customerio import CustomerIoCancelBroadcastTriggerOperator
from airflow_provider_cancel.sensors.base import CampaignStatusSensor

with DAG(
    dag_id="customerio_cancel_broadcast_trigger",
    description="Cancel a scheduled Customer.io broadcast trigger and confirm it is cancelled",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "customerio"],
    params={
        "broadcast_id": Param("", type="string", description="Customer.io broadcast id"),
        "trigger_id": Param("", type="string", description="the trigger id returned when the send was scheduled"),
    },
) as dag:
    # [START customerio_cancel_broadcast_trigger]
    cancel = CustomerIoCancelBroadcastTriggerOperator(
        task_id="cancel_trigger",
        broadcast_id="{{ params.broadcast_id }}",
        trigger_id="{{ params.trigger_id }}",
        customerio_conn_id="customerio_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),  # a kill switch retries fast
    )
    # [END customerio_cancel_broadcast_trigger]

    # [START customerio_confirm_cancelled]
    # A separate, read-only confirmation with the generic sensor. Customer.io's trigger read has no
    # cancelled_at field, so the target carries the cancel's own answer (see the vendor page).
    confirm = CampaignStatusSensor(
        task_id="confirm_cancelled",
        vendor="customerio",
        target={
            "broadcast_id": "{{ params.broadcast_id }}",
            "trigger_id": "{{ params.trigger_id }}",
            "cancelled_at": "{{ ti.xcom_pull(task_ids='cancel_trigger')['detail'].get('cancelled_at') }}",
        },
        conn_id="customerio_default",
        target_state="cancelled",
        deferrable=False,
        mode="poke",
        poke_interval=2,
        timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END customerio_confirm_cancelled]

    cancel >> confirm

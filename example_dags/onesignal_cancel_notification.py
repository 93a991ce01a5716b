"""
Kill switch for a OneSignal notification: cancel it while it is scheduled or sending.

Trigger it by hand with the notification (message) id, for example::

    airflow dags trigger onesignal_cancel_notification -c '{"notification_id": "b98881cc-..."}'

The connection holds the app id. The cancel is a ``DELETE`` of one notification, so a retry repeats
it. The wait is deferred to the triggerer, which only reads the notification.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.onesignal import OneSignalCancelNotificationOperator
from airflow_provider_cancel.sensors.base import CampaignStatusSensor

with DAG(
    dag_id="onesignal_cancel_notification",
    description="Cancel a OneSignal notification and confirm it is canceled",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "onesignal"],
    params={"notification_id": Param("", type="string", description="OneSignal notification (message) id")},
) as dag:
    # [START onesignal_cancel_notification]
    cancel = OneSignalCancelNotificationOperator(
        task_id="cancel_notification",
        notification_id="{{ params.notification_id }}",
        onesignal_conn_id="onesignal_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),  # a kill switch retries fast
    )
    # [END onesignal_cancel_notification]

    # [START onesignal_confirm_cancelled]
    # A separate, read-only confirmation with the generic sensor.
    confirm = CampaignStatusSensor(
        task_id="confirm_cancelled",
        vendor="onesignal",
        target={"notification_id": "{{ params.notification_id }}"},
        conn_id="onesignal_default",
        target_state="cancelled",
        deferrable=False,
        mode="poke",
        poke_interval=2,
        timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END onesignal_confirm_cancelled]

    cancel >> confirm

"""
Kill switch for a Resend broadcast: cancel it and confirm nothing more goes out.

Trigger it by hand with the broadcast to stop, for example::

    airflow dags trigger resend_cancel_broadcast -c '{"broadcast_id": "559ac32e-..."}'

A scheduled broadcast goes back to draft (nothing was sent); a queued one stops mid-send (emails
already sent are not recalled). Cancelling one broadcast is harmless to repeat, so a retry sends the
same request. The wait is deferred to the triggerer, which only reads the broadcast.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.resend import ResendCancelBroadcastOperator
from airflow_provider_cancel.sensors.base import CampaignStatusSensor

with DAG(
    dag_id="resend_cancel_broadcast",
    description="Cancel a Resend broadcast and confirm it is cancelled (or back to draft)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "resend"],
    params={"broadcast_id": Param("", type="string", description="Resend broadcast id to cancel")},
) as dag:
    # [START resend_cancel_broadcast]
    cancel = ResendCancelBroadcastOperator(
        task_id="cancel_broadcast",
        broadcast_id="{{ params.broadcast_id }}",
        resend_conn_id="resend_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),  # a kill switch retries fast
    )
    # [END resend_cancel_broadcast]

    # [START resend_confirm_cancelled]
    # A separate, read-only confirmation with the generic sensor. After a cancel, a broadcast that
    # was scheduled is back in draft: draft_means_cancelled counts that as cancelled.
    confirm = CampaignStatusSensor(
        task_id="confirm_cancelled",
        vendor="resend",
        target={"broadcast_id": "{{ params.broadcast_id }}", "draft_means_cancelled": True},
        conn_id="resend_default",
        target_state="cancelled",
        deferrable=False,
        mode="poke",
        poke_interval=2,
        timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END resend_confirm_cancelled]

    cancel >> confirm

"""
Kill switch for an Arsel campaign: cancel it and wait until Arsel reports it cancelled.

Trigger it by hand with the campaign to stop, for example::

    airflow dags trigger arsel_cancel_campaign -c '{"campaign_id": "0192a1b2-...", "channel": "email"}'

The cancel runs on the worker with an ``Idempotency-Key`` derived from the task instance, so a
retry repeats the same request rather than cancelling twice. The wait is deferred to the
triggerer (``deferrable=True``), which only polls ``GET /{channel}/campaigns/{id}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.arsel import ArselCancelCampaignOperator
from airflow_provider_cancel.sensors.arsel import ArselCampaignStatusSensor

with DAG(
    dag_id="arsel_cancel_campaign",
    description="Cancel an Arsel email/SMS campaign and confirm it is cancelled",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "arsel"],
    params={
        "campaign_id": Param("", type="string", description="Arsel campaign id to cancel"),
        "channel": Param("email", enum=["email", "sms"]),
    },
) as dag:
    # [START arsel_cancel_campaign]
    cancel = ArselCancelCampaignOperator(
        task_id="cancel_campaign",
        campaign_id="{{ params.campaign_id }}",
        channel="{{ params.channel }}",
        arsel_conn_id="arsel_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),  # a kill switch retries fast
    )
    # [END arsel_cancel_campaign]

    # [START arsel_confirm_cancelled]
    # A separate, read-only confirmation, for runbooks that want the check as its own task. Shown in
    # classic poke mode (it holds a worker slot while it waits); deferrable=True frees the slot.
    confirm = ArselCampaignStatusSensor(
        task_id="confirm_cancelled",
        campaign_id="{{ params.campaign_id }}",
        channel="{{ params.channel }}",
        arsel_conn_id="arsel_default",
        target_state="cancelled",
        deferrable=False,
        mode="poke",
        poke_interval=2,
        timeout=300,
        # Read-only, so a retry is safe; it also covers an Airflow race that can fail a task whose
        # trigger fires within seconds of deferring (apache/airflow#72716).
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END arsel_confirm_cancelled]

    cancel >> confirm

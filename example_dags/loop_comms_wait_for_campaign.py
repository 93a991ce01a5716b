"""
Wait until a Loop Health comms campaign is cancelled and none of its sends is still running.

    airflow dags trigger loop_comms_wait_for_campaign -c '{"campaign_id": "0192..."}'

Give ``cancel_status``/``cancelled_at`` from a cancel's answer when you have them. Without them the
sensor judges from the send history alone: it sees a running send, a send stopped by a cancel, or a
campaign that was sent (which fails at once); it cannot see a campaign cancelled before any send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.sensors.loop_comms import LoopCommsCampaignStatusSensor

with DAG(
    dag_id="loop_comms_wait_for_campaign",
    description="Wait until a Loop Health comms campaign is cancelled and quiet",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "loop-health"],
    params={
        "campaign_id": Param("", type="string"),
        "cancel_status": Param(None, type=["null", "string"], description="status from the cancel's answer"),
        "cancelled_at": Param(None, type=["null", "string"], description="cancelled_at from the cancel's answer"),
    },
) as dag:
    # [START loop_comms_wait_for_campaign]
    LoopCommsCampaignStatusSensor(
        task_id="wait_until_cancelled",
        campaign_id="{{ params.campaign_id }}",
        cancel_status="{{ params.cancel_status }}",
        cancelled_at="{{ params.cancelled_at }}",
        loop_comms_conn_id="loop_comms_default",
        deferrable=True,
        poke_interval=2,
        timeout=300,
        # Read-only, so a retry is safe; it also covers an Airflow race that can fail a task whose
        # trigger fires within seconds of deferring (apache/airflow#72716).
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END loop_comms_wait_for_campaign]

"""
Kill switch for a Klaviyo campaign: cancel its send job and wait until Klaviyo reports it cancelled.

Trigger it by hand with the campaign to stop, for example::

    airflow dags trigger klaviyo_cancel_campaign -c '{"campaign_id": "01J8ZK4Q3V6N2P7R5T9W1X3Y5A"}'

The cancel (``PATCH /campaign-send-jobs/{id}``, action ``cancel``) runs on the worker; the wait is
deferred to the triggerer, which only reads the send job and the campaign. The confirmation is the
generic ``CampaignStatusSensor``: Klaviyo needs no sensor class of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.klaviyo import KlaviyoCancelCampaignOperator
from airflow_provider_cancel.sensors.base import CampaignStatusSensor

with DAG(
    dag_id="klaviyo_cancel_campaign",
    description="Cancel a Klaviyo campaign and confirm it is cancelled",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "klaviyo"],
    params={"campaign_id": Param("", type="string", description="Klaviyo campaign id (= its send job id)")},
) as dag:
    # [START klaviyo_cancel_campaign]
    cancel = KlaviyoCancelCampaignOperator(
        task_id="cancel_campaign",
        campaign_id="{{ params.campaign_id }}",
        action="cancel",  # or "revert": back to draft, before it starts sending
        klaviyo_conn_id="klaviyo_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),  # a kill switch retries fast
    )
    # [END klaviyo_cancel_campaign]

    # [START klaviyo_confirm_cancelled]
    confirm = CampaignStatusSensor(
        task_id="confirm_cancelled",
        vendor="klaviyo",
        target={"campaign_id": "{{ params.campaign_id }}"},
        conn_id="klaviyo_default",
        target_state="cancelled",
        deferrable=False,
        mode="poke",
        poke_interval=2,
        timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END klaviyo_confirm_cancelled]

    cancel >> confirm

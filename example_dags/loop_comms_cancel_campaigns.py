"""
Kill switch for several Loop Health comms campaigns at once: one mapped cancel task per campaign.

    airflow dags trigger loop_comms_cancel_campaigns -c '{"campaign_ids": ["0192...", "0193..."]}'

Each campaign is cancelled on its own, so one that was already sent (a clear failure of its own
task) does not stop the others from being cancelled. The ids are listed explicitly: there is
deliberately no "cancel everything of a brand" here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

from airflow_provider_cancel.operators.loop_comms import LoopCommsCancelCampaignOperator

with DAG(
    dag_id="loop_comms_cancel_campaigns",
    description="Cancel a list of Loop Health comms campaigns, one mapped task each",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "loop-health"],
    params={"campaign_ids": Param([], type="array", items={"type": "string"}, minItems=1)},
) as dag:
    # [START loop_comms_cancel_campaigns]
    @task
    def campaign_ids(params: dict | None = None) -> list[str]:
        return list(dict.fromkeys(params["campaign_ids"]))  # each campaign once

    LoopCommsCancelCampaignOperator.partial(
        task_id="cancel_campaign",
        loop_comms_conn_id="loop_comms_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=5),
    ).expand(campaign_id=campaign_ids())
    # [END loop_comms_cancel_campaigns]

"""
Kill switch for a Loop Health comms campaign: cancel it, then wait until no send is still running.

Trigger it by hand with the campaign to stop, for example::

    airflow dags trigger loop_comms_cancel_campaign -c '{"campaign_id": "0192a1b2-..."}'

Comms has no GET for a campaign. The cancel's answer (``status``, ``cancelled_at``) says whether it
is cancelled; the send history (``GET /v1/admin/campaigns/{id}/history``) says whether messages are
still going out. The wait is deferred to the triggerer, which only reads the history. A campaign
that was already sent fails the task at once with a clear message; one that was already cancelled
succeeds as ``already_cancelled``. A refusal (4xx) is judged from evidence, never from its wording:
one that leaves a send running with nothing showing the campaign cancelled fails the task.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.loop_comms import LoopCommsCancelCampaignOperator
from airflow_provider_cancel.sensors.loop_comms import LoopCommsCampaignStatusSensor

with DAG(
    dag_id="loop_comms_cancel_campaign",
    description="Cancel a Loop Health comms campaign and wait until none of its sends is running",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "loop-health"],
    params={"campaign_id": Param("", type="string", description="Comms campaign id to cancel")},
) as dag:
    # [START loop_comms_cancel_campaign]
    cancel = LoopCommsCancelCampaignOperator(
        task_id="cancel_campaign",
        campaign_id="{{ params.campaign_id }}",
        loop_comms_conn_id="loop_comms_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=5),  # a kill switch retries fast; the cancel is safe to repeat
    )
    # [END loop_comms_cancel_campaign]

    # [START loop_comms_confirm_cancelled]
    # A separate, read-only confirmation for runbooks, fed only with facts the cancel's campaign
    # answered (a result judged from history has none: history alone shows it), plus the hint of a
    # refusal worded "already cancelled" whose history was empty. A missing value renders as None.
    confirm = LoopCommsCampaignStatusSensor(
        task_id="confirm_cancelled",
        campaign_id="{{ params.campaign_id }}",
        cancel_status="{{ ti.xcom_pull(task_ids='cancel_campaign')['vendor_status'] }}",
        cancelled_at="{{ ti.xcom_pull(task_ids='cancel_campaign')['detail'].get('cancelled_at') }}",
        refusal_hint="{{ ti.xcom_pull(task_ids='cancel_campaign')['detail'].get('refusal_hint') }}",
        loop_comms_conn_id="loop_comms_default",
        deferrable=True,
        poke_interval=2,
        timeout=300,
        # Read-only, so a retry is safe; it also covers an Airflow race that can fail a task whose
        # trigger fires within seconds of deferring (apache/airflow#72716).
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END loop_comms_confirm_cancelled]

    cancel >> confirm

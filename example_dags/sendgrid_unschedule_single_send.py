"""
Kill switch for a SendGrid Marketing Campaigns Single Send: unschedule it (it becomes a draft).

Only a Single Send that has not been triggered yet can be stopped: no SendGrid API stops a send that
is already under way.

    airflow dags trigger sendgrid_unschedule_single_send -c '{"single_send_id": "27c21bbf-a12c-440b-b8bf-c526975328ca"}'
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.sendgrid import SendGridUnscheduleSingleSendOperator

with DAG(
    dag_id="sendgrid_unschedule_single_send",
    description="Unschedule a SendGrid Single Send before it is triggered",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "sendgrid"],
    params={"single_send_id": Param("", type="string", description="The Single Send's id")},
) as dag:
    # [START sendgrid_unschedule_single_send]
    unschedule = SendGridUnscheduleSingleSendOperator(
        task_id="unschedule_single_send",
        single_send_id="{{ params.single_send_id }}",
        sendgrid_conn_id="sendgrid_default",
        retries=2,
        retry_delay=timedelta(seconds=10),
    )
    # [END sendgrid_unschedule_single_send]

"""
Kill switch for a scheduled SendGrid send: cancel it by the batch id it was sent with.

This only works for mail that was sent with a ``batch_id`` (from ``POST /v3/mail/batch``) and a
``send_at`` at least 10 minutes away. No SendGrid API stops a send that is already under way.

    airflow dags trigger sendgrid_cancel_scheduled_send -c '{"batch_id": "HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi"}'
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.sendgrid import SendGridCancelScheduledSendOperator

with DAG(
    dag_id="sendgrid_cancel_scheduled_send",
    description="Cancel (or pause) a scheduled SendGrid send by its batch id",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "sendgrid"],
    params={
        "batch_id": Param("", type="string", description="The batch_id the mail was sent with"),
        "action": Param("cancel", enum=["cancel", "pause"]),
        "send_at": Param("", type="string", description="Optional: the send_at given to SendGrid (Unix seconds)"),
    },
) as dag:
    # [START sendgrid_cancel_scheduled_send]
    cancel = SendGridCancelScheduledSendOperator(
        task_id="cancel_scheduled_send",
        batch_id="{{ params.batch_id }}",  # must have been set when the mail was sent
        action="{{ params.action }}",  # cancel: discarded at send_at; pause: held
        send_at="{{ params.send_at }}",  # optional; a send time that has passed fails at once
        sendgrid_conn_id="sendgrid_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=10),
    )
    # [END sendgrid_cancel_scheduled_send]

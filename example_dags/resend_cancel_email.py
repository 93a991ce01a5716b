"""
Kill switch for one scheduled Resend email: cancel it before it goes out.

    airflow dags trigger resend_cancel_email -c '{"email_id": "49a3999c-..."}'

Only emails sent with ``scheduled_at`` can be cancelled, and only until they go out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.resend import ResendCancelEmailOperator

with DAG(
    dag_id="resend_cancel_email",
    description="Cancel a scheduled Resend email and confirm it is canceled",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "resend"],
    params={"email_id": Param("", type="string", description="Resend email id returned when it was scheduled")},
) as dag:
    # [START resend_cancel_email]
    ResendCancelEmailOperator(
        task_id="cancel_email",
        email_id="{{ params.email_id }}",
        resend_conn_id="resend_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=2,
        wait_timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=10),
    )
    # [END resend_cancel_email]

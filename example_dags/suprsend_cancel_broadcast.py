"""
Kill switch for SuprSend broadcasts: cancel the broadcast runs that match, then confirm they stopped.

Trigger it by hand, for example::

    airflow dags trigger suprsend_cancel_broadcast -c '{"idempotency_key": "spring-sale-2026"}'
    airflow dags trigger suprsend_cancel_broadcast -c '{"list_id": "all-users", "allow_broad_match": true}'

SuprSend's broadcast trigger returns no execution id: to target one broadcast, trigger it with your
own ``$idempotency_key`` and cancel by that key. Cancelling by ``list_id`` alone is broad and needs
``allow_broad_match``. The confirmation is a separate, read-only sensor that waits (deferred) until
no message for the cancelled executions appeared for ``settle_seconds``; it is skipped when the
cancel matched nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.suprsend import SuprSendCancelBroadcastOperator
from airflow_provider_cancel.sensors.suprsend import SuprSendExecutionStatusSensor

with DAG(
    dag_id="suprsend_cancel_broadcast",
    description="Cancel SuprSend broadcast runs by filters and confirm they stopped sending",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "suprsend"],
    params={
        "execution_id": Param("", type="string", description="One broadcast execution id (broadcast_...)"),
        "idempotency_key": Param("", type="string", description="Idempotency key the broadcast was triggered with"),
        "list_id": Param("", type="string", description="Subscriber list (broad on its own)"),
        "tenant_id": Param("", type="string", description="Narrow to one tenant"),
        "allow_broad_match": Param(
            False, type="boolean", description="Allow a cancel without execution_id/idempotency_key"
        ),
        "settle_seconds": Param(60, type="number", minimum=0, description="Quiet time that counts as settled"),
    },
) as dag:
    # [START suprsend_cancel_broadcast]
    cancel = SuprSendCancelBroadcastOperator(
        task_id="cancel_broadcast",
        execution_id="{{ params.execution_id }}",
        idempotency_key="{{ params.idempotency_key }}",
        list_id="{{ params.list_id }}",
        tenant_id="{{ params.tenant_id }}",
        allow_broad_match="{{ params.allow_broad_match }}",
        suprsend_conn_id="suprsend_default",
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END suprsend_cancel_broadcast]

    # [START suprsend_confirm_settled]
    confirm = SuprSendExecutionStatusSensor(
        task_id="confirm_settled",
        execution_ids="{{ ti.xcom_pull(task_ids='cancel_broadcast')['detail']['execution_ids'] }}",
        since="{{ ti.xcom_pull(task_ids='cancel_broadcast')['detail']['cancelled_at'] }}",
        settle_seconds="{{ params.settle_seconds }}",
        suprsend_conn_id="suprsend_default",
        deferrable=True,
        poke_interval=5,
        timeout=900,
        # Read-only, so a retry is safe; it also covers an Airflow race that can fail a task whose
        # trigger fires within seconds of deferring (apache/airflow#72716).
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END suprsend_confirm_settled]

    cancel >> confirm

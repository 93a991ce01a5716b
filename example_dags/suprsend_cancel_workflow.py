"""
Kill switch for SuprSend workflow runs: cancel the runs that match, then wait until they go quiet.

Trigger it by hand with the filters to apply (SuprSend ANDs them), for example::

    airflow dags trigger suprsend_cancel_workflow -c '{"idempotency_key": "order-5678"}'
    airflow dags trigger suprsend_cancel_workflow -c '{"workflow_slug": "promo-blast", "allow_broad_match": true}'

A cancel without ``execution_id`` or ``idempotency_key`` is broad (it stops every running run that
matches, including ones started a moment ago), so it needs ``allow_broad_match``; an automatic
retry never re-sends a broad cancel. SuprSend has no execution status API, so the wait is on the
message log: done once no message for the cancelled executions appeared for ``settle_seconds``.
The wait is deferred to the triggerer (``deferrable=True``), which only reads ``GET /v1/message/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.suprsend import SuprSendCancelWorkflowOperator

with DAG(
    dag_id="suprsend_cancel_workflow",
    description="Cancel SuprSend workflow runs by filters and wait until they stop sending",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "suprsend"],
    params={
        "execution_id": Param("", type="string", description="One workflow execution id (dsl_...)"),
        "idempotency_key": Param("", type="string", description="Idempotency key the workflow was triggered with"),
        "workflow_slug": Param("", type="string", description="Workflow slug (broad on its own)"),
        "recipients": Param([], type="array", description="distinct_ids or contact info (broad on their own)"),
        "tenant_id": Param("", type="string", description="Narrow to one tenant"),
        "allow_broad_match": Param(
            False, type="boolean", description="Allow a cancel without execution_id/idempotency_key"
        ),
        "settle_seconds": Param(60, type="number", minimum=0, description="Quiet time that counts as settled"),
    },
) as dag:
    # [START suprsend_cancel_workflow]
    SuprSendCancelWorkflowOperator(
        task_id="cancel_workflow_runs",
        execution_id="{{ params.execution_id }}",
        idempotency_key="{{ params.idempotency_key }}",
        workflow_slug="{{ params.workflow_slug }}",
        recipients="{{ params.recipients | tojson }}",
        tenant_id="{{ params.tenant_id }}",
        allow_broad_match="{{ params.allow_broad_match }}",
        settle_seconds="{{ params.settle_seconds }}",
        suprsend_conn_id="suprsend_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=5,  # one GET per cancelled execution per poll
        retry_limit=2,  # HTTP attempts per request, on the worker and per poll in the triggerer
        wait_timeout=900,
        retries=2,
        retry_delay=timedelta(seconds=5),  # a kill switch retries fast
    )
    # [END suprsend_cancel_workflow]

"""
Purge queued (unsent) Periskope jobs of one broadcast, or of chosen queue jobs.

    airflow dags trigger periskope_purge_queue -c '{"broadcast_id": "b25192d5-2370-4a69-b844-aae5e2bfae92"}'
    airflow dags trigger periskope_purge_queue -c '{"queue_ids": ["q1", "q2"]}'

``queue_ids`` renders as a Python list (``['q1', 'q2']``), which the operator reads as a list.

``POST /message/queues/purge`` with an empty body purges *every* queued job of the organisation,
so this DAG never sends one: with neither param the task fails before any request. Purging the
whole queue needs ``purge_all=True`` written in the DAG code, on purpose not a run-time param.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.periskope import PeriskopePurgeQueueOperator

with DAG(
    dag_id="periskope_purge_queue",
    description="Purge one Periskope broadcast's queued jobs (never the whole queue)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "periskope"],
    params={
        "broadcast_id": Param("", type="string", description="Purge this broadcast's queued jobs"),
        "queue_ids": Param([], type="array", items={"type": "string"}, description="Or purge these queue jobs"),
    },
) as dag:
    # [START periskope_purge_queue]
    PeriskopePurgeQueueOperator(
        task_id="purge_queue",
        broadcast_id="{{ params.broadcast_id }}",
        queue_ids="{{ params.queue_ids }}",
        periskope_conn_id="periskope_default",
        retries=2,
        retry_delay=timedelta(seconds=5),
    )
    # [END periskope_purge_queue]

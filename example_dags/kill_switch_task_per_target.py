"""
The kill switch with a task instance per target: for a few targets whose logs and retries you want apart.

Same form and report as ``kill_switch``; each target is cancelled by its own mapped task instance
(``cancel_<kind>``), which waits for the confirmation deferred in the triggerer and can run in a pool
per vendor. Every task instance costs a process start, so for many targets the default ``kill_switch``
(one ``cancel`` task, each vendor paced to its rate limit) stops them much sooner.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group

with DAG(
    dag_id="kill_switch_task_per_target",
    description="The kill switch with one mapped task instance per target",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kill-switch"],
    params={
        "targets": Param([], type="array", items={"type": "object"}, description="Target objects"),
        "dry_run": Param(True, type="boolean", description="Only validate and read statuses; cancel nothing"),
        "skip_approval": Param(False, type="boolean", description="Cancel without waiting for a person"),
    },
) as dag:
    # [START kill_switch_task_per_target]
    kill_switch_task_group(
        targets="{{ params.targets | tojson }}",
        dry_run="{{ params.dry_run }}",
        skip_approval="{{ params.skip_approval }}",
        approval_threshold=10,
        one_task_per_target=True,
    )
    # [END kill_switch_task_per_target]

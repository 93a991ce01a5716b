"""
The kill switch: stop campaigns at every vendor in one run, dry run first.

Trigger it from the UI (Trigger DAG, then paste the targets) or from the command line::

    airflow dags trigger kill_switch -c '{"targets": [{"vendor": "arsel", "campaign_id": "cmp_7d1f"}]}'
    airflow dags trigger kill_switch -c '{"targets": [...], "dry_run": false}'

A target is ``{"vendor": "<kind>", "conn_id": "<optional>", ...fields}`` with the fields named as the
vendor's cancel operator's arguments (docs/kill-switch.md). A dry run (the default) validates every
target and reads its current status; it sends nothing. A real run that would cancel more than 10
targets, or uses a broad filter, waits for a person's approval first; ``skip_approval`` is for scripts
that already had that decision. The ``report`` task lists every target's outcome.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group

with DAG(
    dag_id="kill_switch",
    description="Cancel campaigns at every vendor in one run: dry run, approval for wide blasts, report",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kill-switch"],
    params={
        "targets": Param(
            [],
            type="array",
            items={"type": "object"},
            description='Target objects, e.g. [{"vendor": "arsel", "campaign_id": "cmp_7d1f", "channel": "sms"}]',
        ),
        "dry_run": Param(True, type="boolean", description="Only validate and read statuses; cancel nothing"),
        "skip_approval": Param(
            False, type="boolean", description="Cancel without waiting for a person (a person already decided)"
        ),
    },
) as dag:
    # [START kill_switch]
    kill_switch_task_group(
        targets="{{ params.targets | tojson }}",
        dry_run="{{ params.dry_run }}",
        skip_approval="{{ params.skip_approval }}",
        approval_threshold=10,
    )
    # [END kill_switch]

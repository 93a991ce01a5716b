"""
A standing kill list: every 5 minutes, cancel whatever is on it.

The list is the Airflow Variable ``kill_switch_targets``: a JSON list of target objects (the same ones
the ``kill_switch`` DAG takes; docs/kill-switch.md). Put a campaign on it and, within five minutes, it is
cancelled at its vendor; leave it there and later runs report it ``already_cancelled``, which is a
success. This DAG never waits for a person: whoever edits the Variable has made the decision, so keep
broad filters off the list, or they are cancelled without approval too::

    airflow variables set kill_switch_targets '[{"vendor": "arsel", "campaign_id": "cmp_7d1f"}]'

An empty or missing Variable is a run that does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group

with DAG(
    dag_id="scheduled_kill_switch",
    description="Every 5 minutes, cancel what is on the kill_switch_targets Variable",
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["kill-switch"],
) as dag:
    # [START scheduled_kill_switch]
    kill_switch_task_group(
        targets="{{ var.value.get('kill_switch_targets', '[]') }}",
        dry_run=False,
        skip_approval=True,  # the Variable's editor already decided; nobody is there to approve at night
        allow_empty=True,
    )
    # [END scheduled_kill_switch]

"""
Kill switch for Periskope WhatsApp broadcasts: stop or delete them, and confirm they are cancelled.

Trigger it by hand with the broadcast(s) to kill, for example::

    airflow dags trigger periskope_cancel_broadcast -c '{"broadcast_ids": ["b25192d5-2370-4a69-b844-aae5e2bfae92"]}'

One mapped task per broadcast sends ``DELETE /message/broadcast/{id}``: a broadcast that has not
started is deleted, one that is sending is stopped, one already stopped answers 409
(``already_stopped``). Each task then waits in the triggerer (``deferrable=True``) until
``GET /queue/broadcast`` shows it ``stopped`` (a deleted broadcast is confirmed by its 404). A
broadcast that had already *completed* (or expired) fails its task without retries: Periskope
answers 409, and nothing was stopped. A retry after this task's own delete (say the status read
failed) reports the broadcast ``deleted``, not "not found".
A second, read-only sensor confirms each one again, for runbooks that want the check as its own step.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import DAG, Param, task

from airflow_provider_cancel.operators.periskope import PeriskopeCancelBroadcastOperator
from airflow_provider_cancel.sensors.periskope import PeriskopeBroadcastStatusSensor


# [START periskope_confirm_kwargs]
def _confirm_kwargs(result: dict[str, Any]) -> dict[str, Any]:
    # A 404 confirms a broadcast only if our cancel deleted it: pass the cancel's answer along.
    return {"broadcast_id": result["target"]["broadcast_id"], "cancel_status": result["vendor_status"]}


# [END periskope_confirm_kwargs]


with DAG(
    dag_id="periskope_cancel_broadcast",
    description="Stop or delete Periskope broadcasts and confirm they are cancelled",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "periskope"],
    params={
        "broadcast_ids": Param(
            [], type=["array", "string"], description="Periskope broadcast_id(s) to cancel (list or comma-separated)"
        ),
    },
) as dag:

    @task
    def broadcast_ids(params: dict[str, Any] | None = None) -> list[str]:
        """The ids to cancel; an empty list fails instead of silently cancelling nothing."""
        raw = (params or {}).get("broadcast_ids") or []
        ids = [i for i in (re.split(r"[,\s]+", raw) if isinstance(raw, str) else map(str, raw)) if i.strip()]
        if not ids:
            raise AirflowFailException("Give at least one broadcast id in the 'broadcast_ids' param.")
        return list(dict.fromkeys(i.strip() for i in ids))  # each broadcast once

    # [START periskope_cancel_broadcast]
    cancel = PeriskopeCancelBroadcastOperator.partial(
        task_id="cancel_broadcast",
        periskope_conn_id="periskope_default",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        wait_timeout=300,
        retries=2,
        retry_delay=timedelta(seconds=5),  # a kill switch retries fast
    ).expand(broadcast_id=broadcast_ids())

    confirm = PeriskopeBroadcastStatusSensor.partial(
        task_id="confirm_cancelled",
        periskope_conn_id="periskope_default",
        target_state="cancelled",
        deferrable=True,
        poke_interval=1,
        timeout=120,
        # Read-only, so a retry is safe; it also covers an Airflow race that can fail a task whose
        # trigger fires within seconds of deferring (apache/airflow#72716).
        retries=2,
        retry_delay=timedelta(seconds=5),
    ).expand_kwargs(cancel.output.map(_confirm_kwargs))
    # [END periskope_cancel_broadcast]

"""The DAGs ``benchmarks/time_to_stop.py`` races against each other in a real deployment.

- ``tts_one_task``: the kill switch as shipped (one ``cancel`` task for every target, paced per vendor);
- ``tts_task_per_target``: the kill switch with ``one_task_per_target=True`` (a mapped task instance per target);
- ``tts_hand_written_loop``: the baseline, what a DAG author writes by hand: one PythonOperator looping
  ``requests`` over the targets, waiting out a 429's ``Retry-After``.
"""

from __future__ import annotations

import json
from datetime import datetime

from airflow.sdk import DAG, Param, task

from airflow_provider_cancel.operators.kill_switch import kill_switch_task_group

#: The sandbox's limits in this benchmark (Arsel's documented 2/s is its vendor default).
SANDBOX_RATES = {"periskope": 20, "loop_comms": 20, "suprsend_workflow": 20, "suprsend_broadcast": 20}
PARAMS = {"targets": Param([], type="array")}
COMMON = {"schedule": None, "start_date": datetime(2026, 1, 1), "catchup": False, "params": PARAMS}

with DAG("tts_one_task", **COMMON):
    kill_switch_task_group(
        targets="{{ params.targets | tojson }}",
        dry_run=False,
        skip_approval=True,
        rate_limits=SANDBOX_RATES,
        poll_interval=2,
        retries=0,
    )

with DAG("tts_task_per_target", **COMMON):
    kill_switch_task_group(
        targets="{{ params.targets | tojson }}",
        dry_run=False,
        skip_approval=True,
        one_task_per_target=True,
        poll_interval=2,
        retries=0,
    )

with DAG("tts_hand_written_loop", **COMMON):

    @task
    def cancel_all(targets_json: str) -> int:
        import time

        import requests
        from airflow.sdk import BaseHook

        def request(conn_id: str, method: str, path: str, **kwargs) -> requests.Response:
            conn = BaseHook.get_connection(conn_id)
            headers = {"Authorization": f"Bearer {conn.password}"}
            phone = conn.extra_dejson.get("phone")
            if phone:
                headers["x-phone"] = phone
            verify = conn.extra_dejson.get("ca_bundle") or True  # the sandbox's own certificate
            while True:
                answer = requests.request(
                    method, conn.host + path, headers=headers, timeout=30, verify=verify, **kwargs
                )
                if answer.status_code != 429:
                    return answer
                time.sleep(float(answer.headers.get("Retry-After", "1")))

        done = 0
        for target in json.loads(targets_json):
            vendor = target["vendor"]
            if vendor == "arsel":
                path = f"/{target['channel']}/campaigns/{target['campaign_id']}/cancel"
                answer = request("arsel_default", "POST", path)
            elif vendor == "periskope":
                answer = request("periskope_default", "DELETE", f"/message/broadcast/{target['broadcast_id']}")
            elif vendor == "loop_comms":
                answer = request("loop_comms_default", "POST", f"/v1/admin/campaigns/{target['campaign_id']}/cancel")
            else:
                body = {"execution_id": target["execution_id"]}
                answer = request("suprsend_default", "POST", "/v1/workflow_run/cancel/", json=body)
            done += answer.ok
        return done

    cancel_all("{{ params.targets | tojson }}")

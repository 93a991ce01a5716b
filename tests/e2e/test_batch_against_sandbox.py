"""The kill switch's BatchCancelOperator over real HTTP to the sandbox: paced to Arsel's documented rate
limit at the HTTP layer (no 429), every target cancelled once and confirmed."""

from __future__ import annotations

import time

from airflow_provider_cancel.operators.batch import BatchCancelOperator
from tests.unit.conftest import make_context

KEY = "be_sandbox_key"


def test_a_batch_stays_under_arsels_two_requests_per_second_and_cancels_each_target_once(sandbox, set_conn):
    set_conn("arsel_default", "arsel", sandbox.vendor_url("arsel"), password=KEY)  # sandbox: 2 requests/s
    campaigns = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "status": "sending"} for _ in range(5)]}
    )["campaigns"]
    targets = [{"campaign_id": c["id"], "channel": "email", "arsel_conn_id": "arsel_default"} for c in campaigns]
    operator = BatchCancelOperator(task_id="kill_switch.cancel", targets={"arsel": targets}, poll_interval=0.5)
    started = time.monotonic()
    out = operator.execute(make_context(task_id="kill_switch.cancel"))
    took = time.monotonic() - started

    results = out["results"]["arsel"]
    assert [r["result"]["outcome"] for r in results] == ["cancelled"] * 5, results
    assert all(r["result"]["final_status"]["state"] == "cancelled" for r in results)
    requests = sandbox.admin("GET", "/requests?vendor=arsel")["requests"]
    assert [r["status"] for r in requests if r["status"] == 429] == []  # paced, not throttled
    assert len([r for r in requests if r["method"] == "POST"]) == 5  # one cancel per target
    # 5 cancels and 5 status reads at under 2/s: the pacing really waited.
    assert len(requests) == 10 and took >= 9 / 2
    assert {c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]} == {"cancelled"}

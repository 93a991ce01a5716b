"""Every vendor's cancel-and-wait example DAG in a real deployment: started through the REST API, each
wait deferred to the triggerer; the same scenarios, seeds and checks as the demo."""

from __future__ import annotations

import demo
import pytest

#: The demo's per-vendor scenarios (the kill switch has its own deployment tests).
VENDOR_SCENARIOS = [scenario for scenario in demo.SCENARIOS if scenario is not demo.kill_switch]


@pytest.mark.parametrize("scenario", VENDOR_SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_cancel_and_wait_at_each_vendor(deployment, sandbox, scenario):
    runs = []

    def run(dag_id, conf):
        runs.append(deployment.run(dag_id, conf))
        return runs[-1]

    rows = scenario(sandbox, run)
    problems = [row for row in rows if not row.ok]
    assert not problems, (problems, [(r.dag_id, r.state, r.task_states()) for r in runs], deployment.logs())
    for finished in runs:
        assert finished.state == "success", (finished.task_states(), deployment.logs())
        # Each task succeeded on its first try.
        assert set(finished.tries().values()) == {1}, finished.tries()
        assert set(finished.task_states().values()) == {"success"}
    # The waits really ran in the triggerer (a campaign already cancelled needs none), each after the
    # first-poll delay (apache/airflow#72716).
    logs = [deployment.trigger_log(finished.dag_id, finished.run_id) for finished in runs]
    assert any("Trigger fired event" in log for log in logs), logs
    assert all("First poll in" in log for log in logs if "Trigger fired event" in log), logs
    # Nothing was sent twice: every write went to its endpoint once.
    writes = [(r["method"], r["path"]) for r in sandbox.admin("GET", "/requests")["requests"] if r["method"] != "GET"]
    assert writes and len(writes) == len(set(writes)), writes

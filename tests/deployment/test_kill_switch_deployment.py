"""The kill switch in a real deployment: started through the REST API, cancels deferred to the triggerer."""

from __future__ import annotations

from tests.deployment.conftest import SECRETS


def test_kill_switch_run_through_the_rest_api_stops_every_vendor(deployment, sandbox):
    sandbox.admin("POST", "/config", {"arsel": {"cancel_settle_s": 3}, "periskope": {"stop_settle_s": 3}})
    arsel = sandbox.admin(
        "POST",
        "/arsel/seed",
        {
            "campaigns": [
                {"channel": "email", "name": "bad", "status": "sending"},
                {"channel": "email", "name": "ok", "status": "sending"},
            ]
        },
    )["campaigns"]
    sandbox.admin("POST", "/periskope/seed", {"broadcasts": [{"status": "inprogress", "delay": 60, "id": "wa-bad"}]})
    sandbox.admin(
        "POST",
        "/loop/seed",
        {"campaigns": [{"id": "loop-bad", "status": "sending", "advance_every_s": 600, "drain_s": 3}]},
    )
    sandbox.admin(
        "POST",
        "/suprsend/seed",
        {
            "workflow_runs": [
                {
                    "execution_id": "dsl_bad",
                    "workflow_slug": "p",
                    "recipient": "u",
                    "message_every_s": 1,
                    "total_messages": 500,
                }
            ]
        },
    )
    targets = [
        {"vendor": "arsel", "campaign_id": arsel[0]["id"], "channel": "email"},
        {"vendor": "periskope", "broadcast_id": "wa-bad"},
        {"vendor": "loop_comms", "campaign_id": "loop-bad"},
        {"vendor": "suprsend_workflow", "execution_id": "dsl_bad", "settle_seconds": 3},
    ]
    run_id = deployment.trigger("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    state = deployment.wait_for_run("kill_switch", run_id)
    states = deployment.task_states("kill_switch", run_id)
    assert state == "success", (states, deployment.logs())
    report = deployment.xcom("kill_switch", run_id, "kill_switch.report")
    assert [r["outcome"] for r in report["rows"]] == ["cancelled"] * 4, report
    assert all(r["final_state"] == "cancelled" for r in report["rows"])
    # One cancel task handled every vendor's target (one process start, not one per target).
    assert states[("kill_switch.cancel", -1)] == "success", states
    assert not [task for task, _ in states if task.startswith("kill_switch.cancel_")]
    statuses = {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    assert statuses == {arsel[0]["id"]: "cancelled", arsel[1]["id"]: "sending"}
    assert not any(secret in repr(report) for secret in SECRETS.values())

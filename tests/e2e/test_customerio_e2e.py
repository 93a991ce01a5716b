"""Customer.io end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations

KEY = "cio_sandbox_app_key"


def seed(sandbox, *triggers):
    return sandbox.admin("POST", "/customerio/seed", {"triggers": list(triggers)})["triggers"]


def phases(sandbox):
    return {t["id"]: t["phase"] for t in sandbox.admin("GET", "/customerio/state")["triggers"]}


def test_cancel_a_scheduled_trigger_and_confirm_with_the_generic_sensor(sandbox, run_dag):
    target, bystander = seed(sandbox, {"broadcast_id": 3, "id": 12}, {"broadcast_id": 3, "id": 13})
    result = run_dag("customerio_cancel_broadcast_trigger", {"broadcast_id": "3", "trigger_id": "12"})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_trigger": "success", "confirm_cancelled": "success"}
    assert phases(sandbox) == {12: "cancelled", 13: "scheduled"}  # only the target was touched
    calls = sandbox.admin("GET", "/customerio/state")["cancel_calls"]
    assert [(c["trigger_id"], c["result"]) for c in calls] == [("12", "cancelled")]
    xcom = result.xcom("cancel_trigger")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["state"] == "cancelled"
    # The sandbox's trigger read has no cancelled_at (as documented): the confirmation used the cancel's answer.
    assert result.xcom("confirm_cancelled")["raw_status"] == "cancelled"
    assert KEY not in result.output
    assert bystander["phase"] == "scheduled"


def test_a_trigger_that_already_fired_fails_clearly_without_retries(sandbox, run_dag):
    sandbox.admin("POST", "/config", {"customerio": {"trigger_fields": "full"}})
    seed(sandbox, {"broadcast_id": 3, "id": 12, "status": "sent"})
    result = run_dag("customerio_cancel_broadcast_trigger", {"broadcast_id": "3", "trigger_id": "12"})
    assert result.state == "failed"
    assert result.task_states()["cancel_trigger"] == "failed"
    assert "CampaignFinishedError" in result.output and "had already been processed (sent)" in result.output
    assert "up_for_retry" not in result.output
    posts = [r for r in sandbox.admin("GET", "/requests?vendor=customerio")["requests"] if r["method"] == "POST"]
    assert len(posts) == 1 and phases(sandbox) == {12: "sent"}


def test_kill_switch_with_customerio_targets_next_to_an_arsel_one(sandbox, run_dag):
    seed(
        sandbox,
        {"broadcast_id": 3, "id": 21},
        {"broadcast_id": 3, "id": 22, "status": "cancelled"},
        {"broadcast_id": 4, "id": 23, "status": "sent"},
        {"broadcast_id": 4, "id": 24},  # bystander
    )
    (arsel,) = sandbox.admin(
        "POST", "/arsel/seed", {"campaigns": [{"channel": "email", "name": "promo", "status": "sending"}]}
    )["campaigns"]
    targets = [
        {"vendor": "customerio", "broadcast_id": "3", "trigger_id": "21"},
        {"vendor": "customerio", "broadcast_id": 3, "trigger_id": 22},
        {"vendor": "customerio", "broadcast_id": "4", "trigger_id": "23"},
        {"vendor": "arsel", "campaign_id": arsel["id"], "channel": "email"},
    ]
    result = run_dag("kill_switch", {"targets": targets, "dry_run": False, "skip_approval": True})
    assert result.state == "failed", result.tail()  # the sent trigger fails the run, after the report
    rows = result.xcom("kill_switch.report")["rows"]
    assert [r["outcome"] for r in rows] == ["cancelled", "already_cancelled", "failed", "cancelled"]
    assert [r["final_state"] for r in rows if r["outcome"] != "failed"] == ["cancelled"] * 3
    assert "already been processed" in rows[2]["error"]
    assert phases(sandbox) == {21: "cancelled", 22: "cancelled", 23: "sent", 24: "scheduled"}
    assert [c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]] == ["cancelled"]
    assert KEY not in result.output and "be_sandbox_key" not in result.output

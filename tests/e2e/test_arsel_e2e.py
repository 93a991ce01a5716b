"""Arsel end to end: real Airflow (``airflow dags test``, SQLite) against the sandbox over real HTTP."""

from __future__ import annotations


def seed(sandbox, *campaigns):
    return sandbox.admin("POST", "/arsel/seed", {"campaigns": list(campaigns)})["campaigns"]


def by_id(sandbox):
    return {c["id"]: c for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}


def test_kill_switch_cancels_only_the_target_campaign(sandbox, run_dag):
    target, bystander = seed(
        sandbox,
        {"channel": "email", "name": "bad promo", "status": "sending"},
        {"channel": "email", "name": "weekly digest", "status": "sending"},
    )
    result = run_dag("arsel_cancel_campaign", {"campaign_id": target["id"], "channel": "email"})
    assert result.state == "success", result.tail()
    assert result.task_states() == {"cancel_campaign": "success", "confirm_cancelled": "success"}

    campaigns = by_id(sandbox)
    assert campaigns[target["id"]]["status"] == "cancelled"
    assert campaigns[bystander["id"]]["status"] == "sending"  # only the target was touched
    calls = sandbox.admin("GET", "/arsel/state")["cancel_calls"]
    assert [(c["campaign_id"], c["result"]) for c in calls] == [(target["id"], "cancelled")]
    assert calls[0]["idempotency_key"].startswith("airflow-")

    xcom = result.xcom("cancel_campaign")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["state"] == "cancelled"
    assert "be_sandbox_key" not in result.output  # the key never reaches the logs


def test_sms_campaign_already_cancelled_is_success(sandbox, run_dag):
    (campaign,) = seed(sandbox, {"channel": "sms", "name": "otp blast", "status": "cancelled"})
    result = run_dag("arsel_cancel_campaign", {"campaign_id": campaign["id"], "channel": "sms"})
    assert result.state == "success", result.tail()
    assert result.xcom("cancel_campaign")["outcome"] == "already_cancelled"


def test_wrong_api_key_fails_clearly_without_cancelling(sandbox, run_dag):
    (campaign,) = seed(sandbox, {"channel": "email", "name": "promo", "status": "sending"})
    result = run_dag("arsel_cancel_campaign", {"campaign_id": campaign["id"]}, keys={"arsel": "be_wrong"})
    assert result.state == "failed"
    assert result.task_states()["cancel_campaign"] == "failed"
    assert "HTTP 401" in result.output
    assert by_id(sandbox)[campaign["id"]]["status"] == "sending"

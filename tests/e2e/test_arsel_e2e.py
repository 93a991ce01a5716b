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


def test_cancel_then_wait_defers_until_the_sandbox_reports_cancelled(sandbox, run_dag):
    # The sandbox keeps a cancelled *sending* campaign "sending" for a few seconds, so the first
    # status check is not final and the task must defer to the trigger (run inline by dags test).
    sandbox.admin("POST", "/config", {"arsel": {"cancel_settle_s": 5}})
    (campaign,) = seed(sandbox, {"channel": "email", "name": "flash sale", "status": "sending"})
    result = run_dag("arsel_cancel_campaign", {"campaign_id": campaign["id"]})
    assert result.state == "success", result.tail()
    assert "DEFERRED" in result.output.upper()
    assert by_id(sandbox)[campaign["id"]]["status"] == "cancelled"
    polls = [
        r
        for r in sandbox.admin("GET", "/requests?vendor=arsel")["requests"]
        if r["method"] == "GET" and r["status"] == 200
    ]
    assert len(polls) >= 2  # the trigger polled until "cancelled"
    xcom = result.xcom("cancel_campaign")
    assert xcom["outcome"] == "cancelled" and xcom["final_status"]["raw_status"] == "cancelled"
    # The result kept in XCom across the deferral is deleted once the task succeeded: return_value holds it.
    assert result.xcom("cancel_campaign", "cancel_result") is None
    assert len(sandbox.admin("GET", "/arsel/state")["cancel_calls"]) == 1
    posts = [r for r in sandbox.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "POST"]
    assert len(posts) == 1  # resumed from the trigger in the same try: no task retry re-sent it


def test_campaign_already_sent_fails_with_a_clear_message(sandbox, run_dag):
    (campaign,) = seed(sandbox, {"channel": "email", "name": "done", "status": "sent"})
    result = run_dag("arsel_cancel_campaign", {"campaign_id": campaign["id"]})
    assert result.state == "failed"
    assert result.task_states()["cancel_campaign"] == "failed"
    assert "had already finished with status 'sent'; there was nothing left to cancel" in result.output
    assert by_id(sandbox)[campaign["id"]]["status"] == "sent"


def test_rate_limit_and_outage_are_retried_with_one_cancel(sandbox, run_dag):
    (campaign,) = seed(sandbox, {"channel": "email", "name": "promo", "status": "queued"})
    sandbox.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 429, "retry_after": "2"})
    sandbox.admin("POST", "/arsel/faults", {"fail_next": 1, "status": 503})
    result = run_dag("arsel_cancel_campaign", {"campaign_id": campaign["id"]})
    assert result.state == "success", result.tail()
    log = [r for r in sandbox.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "POST"]
    assert [(r["status"], r["outcome"]) for r in log[:3]] == [(429, "fault"), (503, "fault"), (200, "handled")]
    assert len({r["idempotency_key"] for r in log}) == 1  # every attempt was the same request
    assert [c["result"] for c in sandbox.admin("GET", "/arsel/state")["cancel_calls"]] == ["cancelled"]


def test_unknown_campaign_fails_at_once_without_retries(sandbox, run_dag):
    seed(sandbox, {"channel": "email", "name": "bystander", "status": "sending"})
    result = run_dag("arsel_cancel_campaign", {"campaign_id": "no-such-campaign"})
    assert result.state == "failed"
    assert result.task_states()["cancel_campaign"] == "failed"
    assert "HTTP 404 [not_found]: Campaign not found" in result.output
    assert "up_for_retry" not in result.output  # a retry cannot make an unknown id exist
    posts = [r for r in sandbox.admin("GET", "/requests?vendor=arsel")["requests"] if r["method"] == "POST"]
    assert len(posts) == 1
    assert [c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]] == ["sending"]
